"""In-memory examples: ``Example`` objects, ``(input, output)`` pairs or pair dicts.

Their grammar is stated once, by the pydantic model :class:`~tuneport.models.Example`
itself; this reader adds the checks every format makes (text, URIs, turn order).

This is the "format" of ``JobSpec.training_data`` tuples, so they validate
exactly like files: line numbers are 1-based positions in the sequence, and
fields are paths in the :class:`~tuneport.models.Example` model
(``turns[1].parts[0].text``).  It is read-only: there is no file to write.
"""

from __future__ import annotations

from typing import Any

import pydantic

from tuneport.datasets.formats.base import check_role_order, check_text
from tuneport.datasets.light import FileRef, LightExample, from_example
from tuneport.datasets.problems import ProblemLog, Rule
from tuneport.models import Example

__all__ = ["NeutralReader", "neutral_field"]


def neutral_field(*, turn: int | None = None, part: int | None = None, system: bool = False) -> str:
    """The path of a turn / part / the system instruction in an ``Example``."""
    if system:
        return "system" + (f"[{part}]" if part is not None else "")
    if turn is None:
        return "turns"
    return f"turns[{turn}]" + (f".parts[{part}]" if part is not None else "")


def _turn(i: int) -> str:
    return f"turns[{i}]"


class NeutralReader:
    """Checks in-memory examples the way the file codecs check lines."""

    def parse(self, obj: Any, line: int, log: ProblemLog) -> LightExample | None:
        errors = log.error_count
        if not isinstance(obj, Example):
            try:
                obj = Example.model_validate(obj)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(x) for x in first["loc"]) or None
                log.report(line, field, Rule.BAD_TYPE, f"not an example: {first['msg']}")
                return None
        example = from_example(obj)
        if not example.turns:
            log.report(line, "turns", Rule.EMPTY_CONVERSATION, "the example has no turns")
            return None
        for j, part in enumerate(example.system):
            self._part(part, line, log, neutral_field(system=True, part=j))
        for i, (_, parts) in enumerate(example.turns):
            if not parts:
                log.report(line, f"turns[{i}].parts", Rule.EMPTY_TURN, "no parts")
            for j, part in enumerate(parts):
                self._part(part, line, log, neutral_field(turn=i, part=j))
        check_role_order(
            example.turns, lambda field, rule, message: log.report(line, field, rule, message), _turn, str
        )
        return example if log.error_count == errors else None

    def _part(self, part: str | FileRef, line: int, log: ProblemLog, where: str) -> None:
        if isinstance(part, str):
            check_text(part, line, log, f"{where}.text")
        elif not part.uri.strip():
            log.report(line, f"{where}.uri", Rule.EMPTY_URI, "the file URI is empty")
