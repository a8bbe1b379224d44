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
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

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
from tuneport.datasets.light import (
    MODEL,
    USER,
    FileRef,
    LightExample,
    LightPreference,
    LightPrompt,
    LightTurn,
    has_file_parts,
    turns_of,
)
from tuneport.datasets.problems import ProblemLog, Rule

__all__ = [
    "Codec",
    "DatasetFormat",
    "FileLayout",
    "Format",
    "Gap",
    "GrammarCodec",
    "Light",
    "PreferenceCodec",
    "PromptCodec",
    "check_prompt_order",
    "check_role_order",
    "check_text",
    "roles_alternate",
]

#: The light form a codec reads and writes (one per tuning method).
Light = TypeVar("Light", LightExample, LightPreference, LightPrompt)


class DatasetFormat(str, enum.Enum):
    """The dataset formats tuneport reads and writes."""

    #: Gemini API ``{text_input, output}`` pairs (JSONL, JSON array or CSV).
    GEMINI = "gemini"
    #: Vertex AI supervised tuning JSONL (``systemInstruction`` + ``contents``).
    VERTEX = "vertex"
    #: OpenAI chat fine-tuning JSONL (``messages``); for preference data, OpenAI's DPO JSONL
    #: (``input`` / ``preferred_output`` / ``non_preferred_output``).
    OPENAI = "openai"
    #: The ``prompt`` / ``chosen`` / ``rejected`` JSONL of TRL and Hugging Face datasets
    #: (preference data), and TRL's prompt-only ``{"prompt"}`` (distillation prompts).
    TRL = "trl"
    #: tuneport's own JSONL: the neutral models as JSON (``Example``, ``PreferenceExample``,
    #: ``PromptExample``).
    NEUTRAL = "neutral"

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


class Codec(abc.ABC, Generic[Light]):
    """Reads and writes one dataset format of one kind of data (one example at a time).

    *Light* is the kind: :class:`LightExample` (supervised), :class:`LightPreference`
    or :class:`LightPrompt`.  Turn indices in :meth:`field` and :class:`Gap`
    are those of :func:`~tuneport.datasets.light.turns_of`.
    """

    format: ClassVar[DatasetFormat]
    #: The layouts this format may be written in.
    writable_layouts: ClassVar[frozenset[FileLayout]] = frozenset({FileLayout.JSONL})
    #: False when the format has no place for a system instruction (conversion's ``system=`` applies).
    holds_system: ClassVar[bool] = True

    @abc.abstractmethod
    def parse(self, obj: Any, line: int, log: ProblemLog) -> Light | None:
        """The example in *obj*, or ``None`` after reporting its errors to *log*."""

    def fast_decoder(self, codec: JsonCodec) -> FastDecoder | None:
        """A decoder of one JSON Lines line that only ever accepts (``None``: none)."""
        return None

    @abc.abstractmethod
    def dump(self, example: Light) -> dict[str, Any]:
        """The JSON object of *example* (which must have no :meth:`gaps`)."""

    @abc.abstractmethod
    def gaps(self, example: Light) -> list[Gap]:
        """Why this format cannot hold *example* (empty when it can, losslessly)."""

    @abc.abstractmethod
    def field(
        self, example: Light, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        """The JSON path, in this format, of a turn / part / the system instruction."""

    def role_name(self, role: str) -> str:
        """This format's name of a neutral role."""
        return role

    def split(self, example: Light) -> list[Light] | None:
        """Pieces this format can hold, when splitting is meaningful (else ``None``)."""
        return None


class GrammarCodec(Codec[Light]):
    """A codec whose reading derives from its grammar (the checker and the fast paths)."""

    #: The format's grammar, stated once: the checker and the fast decoder derive from it.
    grammar: ClassVar[Record]
    #: The light type the grammar builds.
    light: ClassVar[type[Any]]

    def __init__(self) -> None:
        self._accept = compile_acceptor(self.grammar)
        self._check = compile_checker(self.grammar)

    def parse(self, obj: Any, line: int, log: ProblemLog) -> Light | None:
        # Most records are fine: the generated acceptor takes them; the checker says what is wrong.
        example = self._accept(obj)
        if example is not None:
            return example  # type: ignore[no-any-return]
        errors = log.error_count
        example = self._check(obj, line, log)
        if example is INVALID or log.error_count != errors:
            return None
        assert isinstance(example, self.light)
        return example  # type: ignore[no-any-return]

    def fast_decoder(self, codec: JsonCodec) -> FastDecoder | None:
        """The msgspec decoder of one JSON Lines line derived from :attr:`grammar` (``None``: no msgspec).

        It returns the example of a line it fully accepts, else ``None``
        (then :meth:`parse` reports whatever is wrong).
        """
        if codec.msgspec is None:
            return None
        return compile_fast_decoder(self.grammar, codec.msgspec)


class Format(GrammarCodec[LightExample]):
    """Reads and writes one supervised dataset format."""

    light = LightExample


class PromptCodec(GrammarCodec[LightPrompt]):
    """Reads and writes prompts (distillation) that are a supervised format's examples without answers."""

    light = LightPrompt
    #: The supervised format that writes, checks and locates a prompt's system instruction and turns.
    supervised: ClassVar[Format]

    def role_name(self, role: str) -> str:
        return self.supervised.role_name(role)

    def dump(self, example: LightPrompt) -> dict[str, Any]:
        return self.supervised.dump(LightExample(example.system, example.prompt))

    def gaps(self, example: LightPrompt) -> list[Gap]:
        return self.supervised.gaps(LightExample(example.system, example.prompt))

    def field(
        self, example: LightPrompt, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        return self.supervised.field(
            LightExample(example.system, example.prompt), turn=turn, part=part, system=system
        )


class PreferenceCodec(GrammarCodec[LightPreference]):
    """Reads and writes preference examples whose prompt is a supervised format's turns.

    The answers are checked as that format's model turns; where they are
    written is the subclass's (:meth:`answer_field`).
    """

    light = LightPreference
    #: The supervised format that checks and locates the prompt, and checks the answers.
    supervised: ClassVar[Format]

    def role_name(self, role: str) -> str:
        return self.supervised.role_name(role)

    def gaps(self, example: LightPreference) -> list[Gap]:
        return self.supervised.gaps(LightExample(example.system, turns_of(example)))

    def field(
        self,
        example: LightPreference,
        *,
        turn: int | None = None,
        part: int | None = None,
        system: bool = False,
    ) -> str | None:
        if system or turn is None or turn < len(example.prompt):
            return self.prompt_field(
                self.supervised.field(
                    LightExample(example.system, example.prompt), turn=turn, part=part, system=system
                )
            )
        return self.answer_field(example, turn == len(example.prompt), part)

    def prompt_field(self, path: str | None) -> str | None:
        """The path of a prompt's turn or part from its path in :attr:`supervised` (the same by default)."""
        return path

    @abc.abstractmethod
    def answer_field(self, example: LightPreference, preferred: bool, part: int | None) -> str:
        """The path of the preferred (or the rejected) answer, or of one of its parts."""


def check_prompt_order(
    turns: tuple[Any, ...],
    report: Callable[[str, Rule, str], None],
    turn_field: Callable[[int], str],
    role_name: Callable[[str], str],
    where: str,
) -> bool:
    """Report where a prompt's turns stop alternating user/model from a user turn, or end on a model turn.

    False after reporting (or, silently, when a turn is invalid or there are
    none: their problems were reported already).  *where* names the turns in
    messages ("contents", "the prompt").
    """
    if not turns or INVALID in turns:
        return False
    if prompt_alternates(turns):
        return True
    roles = (USER, MODEL)
    for i, (role, _) in enumerate(turns):
        if role is not roles[i & 1]:
            report(
                f"{turn_field(i)}.role",
                Rule.ROLE_ORDER,
                f"expected a {role_name(roles[i & 1])!r} turn, found {role_name(role)!r}: {where} must "
                f"alternate {role_name(USER)}/{role_name(MODEL)}, starting with {role_name(USER)}",
            )
            return False
    if len(turns) % 2 == 0:
        report(
            f"{turn_field(len(turns) - 1)}.role",
            Rule.ROLE_ORDER,
            f"the last turn of {where} must be a {role_name(USER)!r} turn "
            "(a prompt ends with the turn to answer)",
        )
        return False
    return True


def prompt_alternates(turns: tuple[LightTurn, ...]) -> bool:
    """True when turns go user, model, ..., user (a prompt)."""
    if not len(turns) & 1:
        return False
    for i in range(0, len(turns) - 1, 2):
        if turns[i][0] is not USER or turns[i + 1][0] is not MODEL:
            return False
    return turns[-1][0] is USER
