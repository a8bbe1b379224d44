"""The light neutral form: the one in-memory representation inside the dataset layer.

:class:`~tuneport.models.Example` is the public neutral type; this module's
:class:`LightExample` is the only form the layer works on internally, and
it exists for the hot path alone.  Building a pydantic ``Example`` per line
would cost more than everything else validation does, so the grammars build
this form instead: plain tuples and strings, hashable (duplicate detection
hashes it) and cheap to build.  It holds exactly what an ``Example`` holds,
and is converted only at the boundary, losslessly: :func:`to_example` where
records are handed out (``read_examples``), :func:`from_example` where
examples come in (in-memory sources, ``write_examples``).

* a text part is the ``str`` itself; a file part is a :class:`FileRef`;
* a turn is ``(role, parts)`` with role ``"user"`` or ``"model"``;
* an example is ``LightExample(system_parts, turns)``;
* a preference example is ``LightPreference(system_parts, prompt_turns,
  preferred_parts, rejected_parts)``, a distillation prompt
  ``LightPrompt(system_parts, prompt_turns)``.

Problems and gaps locate a part by ``(turn, part)`` indices.  For a
preference example the turns are those of :func:`turns_of`: the prompt's
turns, then the preferred answer, then the rejected one.
"""

from __future__ import annotations

from typing import NamedTuple, Union

from tuneport.models import Example, FilePart, Part, PreferenceExample, PromptExample, TextPart, Turn

__all__ = [
    "MODEL",
    "USER",
    "FileRef",
    "LightExample",
    "LightPart",
    "LightPreference",
    "LightPrompt",
    "LightTurn",
    "from_example",
    "from_preference",
    "from_prompt",
    "has_file_parts",
    "iter_file_parts",
    "part_text",
    "prompt_has_file_parts",
    "to_example",
    "to_preference",
    "to_prompt",
    "turns_of",
]

USER = "user"
MODEL = "model"


class FileRef(NamedTuple):
    """A file part: its URI and MIME type (``None`` when unknown)."""

    uri: str
    mime_type: str | None


LightPart = Union[str, FileRef]
LightTurn = tuple[str, tuple[LightPart, ...]]


class LightExample(NamedTuple):
    """An example as plain tuples: system parts and ``(role, parts)`` turns."""

    system: tuple[LightPart, ...]
    turns: tuple[LightTurn, ...]


class LightPreference(NamedTuple):
    """A preference example as plain tuples: a prompt and the preferred and rejected answers' parts."""

    system: tuple[LightPart, ...]
    #: Turns alternating user/model, ending with a user turn.
    prompt: tuple[LightTurn, ...]
    preferred: tuple[LightPart, ...]
    rejected: tuple[LightPart, ...]
    #: True when the source listed the rejected answer first (Vertex ``completions``),
    #: so problems name the right index and a rewrite keeps the order.
    swapped: bool = False


class LightPrompt(NamedTuple):
    """A distillation prompt as plain tuples: turns alternating user/model, ending with a user turn."""

    system: tuple[LightPart, ...]
    prompt: tuple[LightTurn, ...]


def turns_of(example: LightExample | LightPreference | LightPrompt) -> tuple[LightTurn, ...]:
    """The turns problems are located in: a preference example's answers follow its prompt."""
    if type(example) is LightPreference:
        return (*example.prompt, (MODEL, example.preferred), (MODEL, example.rejected))
    if type(example) is LightPrompt:
        return example.prompt
    assert isinstance(example, LightExample)
    return example.turns


def part_text(parts: tuple[LightPart, ...]) -> str:
    """The concatenated text parts (what a text-only target receives)."""
    return "".join(p for p in parts if isinstance(p, str))


def has_file_parts(example: LightExample) -> bool:
    """True when any part is a file (fast for the common one-text-part turn)."""
    for part in example.system:
        if type(part) is not str:
            return True
    for _, parts in example.turns:
        if len(parts) == 1 and type(parts[0]) is str:
            continue
        for part in parts:
            if type(part) is not str:
                return True
    return False


def prompt_has_file_parts(example: LightPreference | LightPrompt) -> bool:
    """True when any part of a preference example or prompt is a file (most have none)."""
    for part in example.system:
        if type(part) is not str:
            return True
    for _, parts in example.prompt:
        for part in parts:
            if type(part) is not str:
                return True
    if type(example) is LightPreference:
        for part in example.preferred:
            if type(part) is not str:
                return True
        for part in example.rejected:
            if type(part) is not str:
                return True
    return False


def iter_file_parts(example: LightExample) -> list[tuple[int | None, int, FileRef]]:
    """``(turn index or None for system, part index, file)`` of every file part."""
    found: list[tuple[int | None, int, FileRef]] = [
        (None, j, p) for j, p in enumerate(example.system) if isinstance(p, FileRef)
    ]
    for i, (_, parts) in enumerate(example.turns):
        found.extend((i, j, p) for j, p in enumerate(parts) if isinstance(p, FileRef))
    return found


def _part_from(part: TextPart | FilePart) -> LightPart:
    if isinstance(part, TextPart):
        return part.text
    return FileRef(part.uri, part.mime_type)


def _part_to(part: LightPart) -> Part:
    if isinstance(part, str):
        return TextPart(text=part)
    return FilePart(uri=part.uri, mime_type=part.mime_type)


def from_example(example: Example) -> LightExample:
    """The light form of a pydantic example."""
    return LightExample(
        tuple(_part_from(p) for p in example.system),
        # Roles are mapped to the module constants: the hot path compares them by identity.
        tuple(
            (USER if t.role == USER else MODEL, tuple(_part_from(p) for p in t.parts)) for t in example.turns
        ),
    )


def to_example(light: LightExample) -> Example:
    """The pydantic example of a light form."""
    return Example(
        system=tuple(_part_to(p) for p in light.system),
        turns=tuple(
            Turn(role=USER if role == USER else MODEL, parts=tuple(_part_to(p) for p in parts))
            for role, parts in light.turns
        ),
    )


def _parts_from(parts: tuple[Part, ...]) -> tuple[LightPart, ...]:
    return tuple(_part_from(p) for p in parts)


def _turns_from(turns: tuple[Turn, ...]) -> tuple[LightTurn, ...]:
    return tuple((USER if t.role == USER else MODEL, _parts_from(t.parts)) for t in turns)


def _turns_to(turns: tuple[LightTurn, ...]) -> tuple[Turn, ...]:
    return tuple(
        Turn(role=USER if role == USER else MODEL, parts=tuple(_part_to(p) for p in parts))
        for role, parts in turns
    )


def from_preference(example: PreferenceExample) -> LightPreference:
    """The light form of a pydantic preference example."""
    return LightPreference(
        _parts_from(example.system),
        _turns_from(example.prompt),
        _parts_from(example.preferred.parts),
        _parts_from(example.rejected.parts),
    )


def to_preference(light: LightPreference) -> PreferenceExample:
    """The pydantic preference example of a light form."""
    return PreferenceExample(
        system=tuple(_part_to(p) for p in light.system),
        prompt=_turns_to(light.prompt),
        preferred=Turn(role=MODEL, parts=tuple(_part_to(p) for p in light.preferred)),
        rejected=Turn(role=MODEL, parts=tuple(_part_to(p) for p in light.rejected)),
    )


def from_prompt(example: PromptExample) -> LightPrompt:
    """The light form of a pydantic prompt."""
    return LightPrompt(_parts_from(example.system), _turns_from(example.prompt))


def to_prompt(light: LightPrompt) -> PromptExample:
    """The pydantic prompt of a light form."""
    return PromptExample(system=tuple(_part_to(p) for p in light.system), prompt=_turns_to(light.prompt))
