"""What every format provides, and the checks the formats share.

A format states its grammar once (:attr:`Format.grammar`, see
``grammar.py``); from it come both the checker that turns one parsed JSON
value (a JSONL line, a JSON array element, a CSV row) into the light neutral
form, reporting every problem with its field's JSON path, and the msgspec
fast decoder of JSON Lines.  A format also turns the light form back into
its JSON, and says which examples it *cannot* hold (:meth:`Format.gaps`),
which is what conversion policies act on.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from tuneport.datasets.formats.grammar import (
    INVALID,
    FastDecoder,
    Record,
    check_role_order,
    compile_acceptor,
    compile_checker,
    compile_fast_decoder,
    roles_alternate,
)
from tuneport.datasets.json_codecs import JsonCodec
from tuneport.datasets.light import FileRef, LightExample, has_file_parts
from tuneport.datasets.problems import ProblemLog, Rule

__all__ = [
    "DatasetFormat",
    "FileLayout",
    "Format",
    "Gap",
    "check_role_order",
    "check_text",
    "roles_alternate",
]


class DatasetFormat(str, enum.Enum):
    """The dataset formats tuneport reads and writes."""

    #: Gemini API ``{text_input, output}`` pairs (JSONL, JSON array or CSV).
    GEMINI = "gemini"
    #: Vertex AI supervised tuning JSONL (``systemInstruction`` + ``contents``).
    VERTEX = "vertex"
    #: OpenAI chat fine-tuning JSONL (``messages``).
    OPENAI = "openai"

    def __str__(self) -> str:
        return self.value


class FileLayout(str, enum.Enum):
    """How examples are laid out in a file."""

    #: One JSON object per line (every format).
    JSONL = "jsonl"
    #: One JSON array of objects (read for every format, written for gemini).
    JSON = "json"
    #: A header ``text_input,output`` and one row per example (gemini only).
    CSV = "csv"

    def __str__(self) -> str:
        return self.value


class Gap(NamedTuple):
    """Why a target format cannot hold an example, and where (in neutral indices)."""

    rule: Rule
    reason: str
    turn: int | None = None
    part: int | None = None
    system: bool = False


def file_part_gaps(
    example: LightExample,
    *,
    in_system: str | None,
    in_turn: Callable[[str, FileRef], str | None],
) -> list[Gap]:
    """:attr:`Rule.FILE_PART_NOT_ALLOWED` gaps for the file parts a target format cannot hold.

    ``in_system`` is the reason for any file part of the system instruction
    (``None``: they fit); ``in_turn(role, file)`` the reason for one in a turn,
    or ``None`` when it fits.
    """
    if not has_file_parts(example):
        return []  # the common case: text only
    found: list[Gap] = []
    if in_system is not None:
        for j, part in enumerate(example.system):
            if isinstance(part, FileRef):
                found.append(Gap(Rule.FILE_PART_NOT_ALLOWED, in_system, part=j, system=True))
    for i, (role, parts) in enumerate(example.turns):
        for j, part in enumerate(parts):
            reason = in_turn(role, part) if isinstance(part, FileRef) else None
            if reason is not None:
                found.append(Gap(Rule.FILE_PART_NOT_ALLOWED, reason, turn=i, part=j))
    return found


def check_text(text: str, line: int, log: ProblemLog, field: str) -> None:
    """Report empty (error) or whitespace-only (warning) text.

    Hot loops test ``not text or text.isspace()`` inline first, so the common
    case costs no call and no path formatting.
    """
    if not text:
        log.report(line, field, Rule.EMPTY_TEXT, "the text is empty")
    elif text.isspace():
        log.report(line, field, Rule.BLANK_TEXT, "the text is only whitespace")


class Format(abc.ABC):
    """Reads and writes one dataset format (one example at a time)."""

    format: ClassVar[DatasetFormat]
    #: The format's grammar, stated once: the checker and the fast decoder derive from it.
    grammar: ClassVar[Record]
    #: The layouts this format may be written in.
    writable_layouts: ClassVar[frozenset[FileLayout]] = frozenset({FileLayout.JSONL})

    def __init__(self) -> None:
        self._accept = compile_acceptor(self.grammar)
        self._check = compile_checker(self.grammar)

    def parse(self, obj: Any, line: int, log: ProblemLog) -> LightExample | None:
        """The example in *obj*, or ``None`` after reporting its errors to *log*."""
        # Most records are fine: the generated acceptor takes them; the checker says what is wrong.
        example = self._accept(obj)
        if example is not None:
            return example  # type: ignore[no-any-return]
        errors = log.error_count
        example = self._check(obj, line, log)
        if example is INVALID or log.error_count != errors:
            return None
        assert isinstance(example, LightExample)
        return example

    def fast_decoder(self, codec: JsonCodec) -> FastDecoder | None:
        """The msgspec decoder of one JSON Lines line derived from :attr:`grammar` (``None``: no msgspec).

        It returns the example of a line it fully accepts, else ``None``
        (then :meth:`parse` reports whatever is wrong).
        """
        if codec.msgspec is None:
            return None
        return compile_fast_decoder(self.grammar, codec.msgspec)

    @abc.abstractmethod
    def dump(self, example: LightExample) -> dict[str, Any]:
        """The JSON object of *example* (which must have no :meth:`gaps`)."""

    @abc.abstractmethod
    def gaps(self, example: LightExample) -> list[Gap]:
        """Why this format cannot hold *example* (empty when it can, losslessly)."""

    @abc.abstractmethod
    def field(
        self, example: LightExample, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        """The JSON path, in this format, of a turn / part / the system instruction."""

    def role_name(self, role: str) -> str:
        """This format's name of a neutral role."""
        return role

    def split(self, example: LightExample) -> list[LightExample] | None:
        """Pieces this format can hold, when splitting is meaningful (else ``None``)."""
        return None
