"""What a conversion does with a system instruction the target format cannot hold (``system=``).

Gemini API pairs have no system instruction.  By default such an example
is a problem the conversion policy handles (refused, skipped).  Asked to,
the conversion keeps the example instead:

* ``drop``: the system instruction is left out;
* ``prepend``: its text goes in front of the question's, separated by a
  blank line (:data:`SEPARATOR`).  A conversation split into pairs gets it
  in front of *every* pair's question, since the instruction governed every
  answer of the conversation.

A file part of the system instruction cannot become text: with ``prepend``
it stays a problem (``file-part-not-allowed``, located in the source's
system instruction) that the policy handles.
"""

from __future__ import annotations

from typing import Any, Literal

from tuneport.datasets.formats import Gap
from tuneport.datasets.light import USER, FileRef, LightExample, LightPart, LightPreference, LightPrompt
from tuneport.datasets.problems import Rule
from tuneport.errors import Remedy

__all__ = [
    "SEPARATOR",
    "SYSTEM_HANDLINGS",
    "SYSTEM_REMEDY",
    "SystemHandling",
    "check_system_handling",
    "drop_system",
    "prepend_system",
    "relocate_gaps",
]

#: What to do with a system instruction the target cannot hold.
SystemHandling = Literal["drop", "prepend"]

SYSTEM_HANDLINGS: tuple[SystemHandling, ...] = ("drop", "prepend")

#: Between a prepended system instruction and the question: a blank line.
SEPARATOR = "\n\n"

#: The option that gets past ``system-not-allowed`` (spelt per surface by :class:`~tuneport.errors.Remedy`).
SYSTEM_REMEDY = Remedy(
    "system",
    choices=SYSTEM_HANDLINGS,
    effect="drops the system instruction or prepends its text to the question",
)

Light = Any  # LightExample | LightPreference | LightPrompt: each has `system`; turns differ by kind


def check_system_handling(system: str | None, target: Any, holds_system: bool) -> SystemHandling | None:
    """*system* when valid for *target*; ``ValueError`` when unknown or *target* holds system instructions."""
    if system is None:
        return None
    if system not in SYSTEM_HANDLINGS:
        raise ValueError(f"unknown system handling {system!r} (choose from {', '.join(SYSTEM_HANDLINGS)})")
    if holds_system:
        raise ValueError(
            f"the {target} format holds system instructions: they are written as they are, "
            "so there is nothing to drop or prepend"
        )
    return "drop" if system == "drop" else "prepend"


def drop_system(example: Light) -> Light:
    """*example* without its system instruction."""
    return example._replace(system=())


def prepend_system(example: Light, system: tuple[LightPart, ...]) -> Light | None:
    """*example* (without a system instruction) with *system* in front of its first user turn.

    ``None`` when *system* holds a file part (it cannot become text) or the
    example has no user turn first.
    """
    if any(isinstance(part, FileRef) for part in system):
        return None
    turns = _turns(example)
    if not turns or turns[0][0] != USER:
        return None
    first = (USER, (*system, SEPARATOR, *turns[0][1]))
    return _with_turns(example, (first, *turns[1:]))


def relocate_gaps(gaps: list[Gap], example: Light) -> list[Gap]:
    """The gaps of *example* (as read) when its system instruction could not be prepended.

    A file part of the system instruction cannot become text: it is reported
    where the source has it (``file-part-not-allowed``) in place of
    ``system-not-allowed``, which ``prepend`` was asked to get past.
    """
    files = [j for j, part in enumerate(example.system) if isinstance(part, FileRef)]
    if not files:
        return gaps
    reason = "a file part of the system instruction cannot be prepended to the question as text"
    in_system = [Gap(Rule.FILE_PART_NOT_ALLOWED, reason, part=j, system=True) for j in files]
    return in_system + [gap for gap in gaps if gap.rule is not Rule.SYSTEM_NOT_ALLOWED]


def _turns(example: Light) -> tuple[Any, ...]:
    if isinstance(example, LightExample):
        return example.turns
    assert isinstance(example, (LightPreference, LightPrompt))
    return example.prompt


def _with_turns(example: Light, turns: tuple[Any, ...]) -> Light:
    if isinstance(example, LightExample):
        return example._replace(turns=turns)
    return example._replace(prompt=turns)
