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
* an example is ``LightExample(system_parts, turns)``.
"""

from __future__ import annotations

from typing import NamedTuple, Union

from tuneport.models import Example, FilePart, Part, TextPart, Turn

__all__ = [
    "MODEL",
    "USER",
    "FileRef",
    "LightExample",
    "LightPart",
    "LightTurn",
    "from_example",
    "has_file_parts",
    "iter_file_parts",
    "part_text",
    "to_example",
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
