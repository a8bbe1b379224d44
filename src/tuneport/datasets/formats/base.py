"""What every format codec provides, and the checks they share.

A codec turns one parsed JSON value (a JSONL line, a JSON array element, a
CSV row) into the light neutral form, reporting every problem it finds with
the field's JSON path; and turns the light form back into that format's JSON.
It also says which examples it *cannot* hold (:meth:`Codec.gaps`), which is
what conversion policies act on.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple

from tuneport.datasets.light import MODEL, USER, FileRef, LightExample, LightTurn, has_file_parts
from tuneport.datasets.problems import ProblemLog
from tuneport.datasets.rules import Rule

__all__ = [
    "Codec",
    "DatasetFormat",
    "FileLayout",
    "Gap",
    "check_role_order",
    "check_text",
    "kind_of",
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


_ALTERNATION = (USER, MODEL)


def kind_of(value: Any) -> str:
    """A JSON type name for messages ("an object", "a string", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_text(text: str, line: int, log: ProblemLog, field: str) -> None:
    """Report empty (error) or whitespace-only (warning) text.

    Hot loops test ``not text or text.isspace()`` inline first, so the common
    case costs no call and no path formatting.
    """
    if not text:
        log.report(line, field, Rule.EMPTY_TEXT, "the text is empty")
    elif text.isspace():
        log.report(line, field, Rule.BLANK_TEXT, "the text is only whitespace")


def roles_alternate(turns: Sequence[LightTurn]) -> bool:
    """True when turns go user, model, user, ..., model (the one shape tuneport accepts)."""
    if not turns or turns[-1][0] is not MODEL:
        return False
    return all(role is _ALTERNATION[i & 1] for i, (role, _) in enumerate(turns))


def check_role_order(
    turns: Sequence[LightTurn],
    line: int,
    log: ProblemLog,
    turn_field: Callable[[int], str],
    role_name: Callable[[str], str],
) -> None:
    """Report the first place where turns stop alternating user/model, or a last user turn.

    Roles in *turns* must be the interned :data:`USER`/:data:`MODEL` constants.
    """
    if roles_alternate(turns) or not turns:
        return
    for i, (role, _) in enumerate(turns):
        expected = _ALTERNATION[i & 1]
        if role is not expected:
            log.report(
                line,
                f"{turn_field(i)}.role",
                Rule.ROLE_ORDER,
                f"expected a {role_name(expected)!r} turn, found {role_name(role)!r}: turns must "
                f"alternate {role_name(USER)}/{role_name(MODEL)}, starting with {role_name(USER)}",
            )
            return
    log.report(
        line,
        f"{turn_field(len(turns) - 1)}.role",
        Rule.ROLE_ORDER,
        f"the last turn must be a {role_name(MODEL)!r} turn (the answer to learn)",
    )


class Codec(abc.ABC):
    """Reads and writes one dataset format (one example at a time)."""

    format: ClassVar[DatasetFormat]
    #: The layouts this format may be written in.
    writable_layouts: ClassVar[frozenset[FileLayout]] = frozenset({FileLayout.JSONL})

    @abc.abstractmethod
    def parse(self, obj: Any, line: int, log: ProblemLog) -> LightExample | None:
        """The example in *obj*, or ``None`` after reporting its errors to *log*."""

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
