"""The neutral models as data: in-memory examples, and tuneport's own JSONL (format ``neutral``).

Their grammar is stated once, by the pydantic models themselves
(:class:`~tuneport.models.Example`, :class:`~tuneport.models.PreferenceExample`,
:class:`~tuneport.models.PromptExample`); these readers add the checks every
format makes (text, URIs, turn order).

In memory this is the "format" of ``JobSpec.training_data`` tuples, so they
validate exactly like files: line numbers are 1-based positions in the
sequence, and fields are paths in the model (``turns[1].parts[0].text``).
As a file format (``neutral``), each line is one model as JSON
(``model_dump(mode="json")``, without an empty ``system``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic

import pydantic

from tuneport.datasets.formats.base import (
    Codec,
    DatasetFormat,
    Gap,
    Light,
    check_prompt_order,
    check_role_order,
    check_text,
)
from tuneport.datasets.light import (
    MODEL,
    FileRef,
    LightExample,
    LightPart,
    LightPreference,
    LightPrompt,
    LightTurn,
    from_example,
    from_preference,
    from_prompt,
)
from tuneport.datasets.problems import ProblemLog, Rule
from tuneport.models import Example, PreferenceExample, PromptExample

__all__ = [
    "NeutralFormat",
    "NeutralPreferenceReader",
    "NeutralPromptReader",
    "NeutralReader",
    "neutral_field",
]


def _model_field(turns: str, turn: int | None, part: int | None, system: bool) -> str:
    """The path of a turn / part / the system instruction in a model whose turns are the field *turns*."""
    if system:
        return "system" + (f"[{part}]" if part is not None else "")
    if turn is None:
        return turns
    return f"{turns}[{turn}]" + (f".parts[{part}]" if part is not None else "")


def neutral_field(*, turn: int | None = None, part: int | None = None, system: bool = False) -> str:
    """The path of a turn / part / the system instruction in an ``Example``."""
    return _model_field("turns", turn, part, system)


def preference_field(
    example: LightPreference, *, turn: int | None = None, part: int | None = None, system: bool = False
) -> str:
    """The path of a turn / part / the system instruction in a ``PreferenceExample``."""
    if system or turn is None or turn < len(example.prompt):
        return _model_field("prompt", turn, part, system)
    name = "preferred" if turn == len(example.prompt) else "rejected"
    return f"{name}.parts" + (f"[{part}]" if part is not None else "")


_MODELS = (Example, PreferenceExample, PromptExample)
_MODELS_METHOD = {Example: "supervised", PreferenceExample: "preference", PromptExample: "distillation"}


def _turn(i: int) -> str:
    return f"turns[{i}]"


def _prompt_turn(i: int) -> str:
    return f"prompt[{i}]"


class _Reader(Generic[Light]):
    """Validates one model from an object (an instance, or its JSON), then checks text, URIs, turns."""

    model: type[pydantic.BaseModel]

    def parse(self, obj: Any, line: int, log: ProblemLog) -> Light | None:
        errors = log.error_count
        if isinstance(obj, _MODELS) and not isinstance(obj, self.model):
            method = _MODELS_METHOD[type(obj)]
            log.report(
                line,
                None,
                Rule.METHOD_MISMATCH,
                f"a {type(obj).__name__} is not {self.noun}: pass method={method!r} for "
                f"{type(obj).__name__} data",
            )
            return None
        if not isinstance(obj, self.model):
            try:
                obj = self.model.model_validate(self.shortcut(obj))
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(x) for x in first["loc"]) or None
                log.report(line, field, Rule.BAD_TYPE, f"not {self.noun}: {first['msg']}")
                return None
        example = self.light_of(obj)
        self.check(example, line, log)
        return example if log.error_count == errors else None

    noun = "an example"

    def shortcut(self, obj: Any) -> Any:
        return obj

    def light_of(self, obj: Any) -> Light:
        raise NotImplementedError

    def check(self, example: Light, line: int, log: ProblemLog) -> None:
        raise NotImplementedError


def _parts(parts: tuple[LightPart, ...], line: int, log: ProblemLog, where: str) -> None:
    if not parts:
        log.report(line, where, Rule.EMPTY_TURN, "no parts")
    for j, part in enumerate(parts):
        _part(part, line, log, f"{where}[{j}]")


def _part(part: str | FileRef, line: int, log: ProblemLog, where: str) -> None:
    if isinstance(part, str):
        check_text(part, line, log, f"{where}.text")
    elif not part.uri.strip():
        log.report(line, f"{where}.uri", Rule.EMPTY_URI, "the file URI is empty")


def _system(system: tuple[LightPart, ...], line: int, log: ProblemLog) -> None:
    for j, part in enumerate(system):
        _part(part, line, log, f"system[{j}]")


def _prompt(
    prompt: tuple[LightTurn, ...], line: int, log: ProblemLog, turn_field: Callable[[int], str]
) -> None:
    for i, (_, parts) in enumerate(prompt):
        _parts(parts, line, log, f"{turn_field(i)}.parts")
    check_prompt_order(
        prompt,
        lambda field, rule, message: log.report(line, field, rule, message),
        turn_field,
        str,
        "the prompt",
    )


class NeutralReader(_Reader[LightExample]):
    """Checks in-memory supervised examples (``Example``, pairs, pair dicts) the way codecs check lines."""

    model = Example

    def light_of(self, obj: Any) -> LightExample:
        return from_example(obj)

    def check(self, example: LightExample, line: int, log: ProblemLog) -> None:
        if not example.turns:
            log.report(line, "turns", Rule.EMPTY_CONVERSATION, "the example has no turns")
            return
        _system(example.system, line, log)
        for i, (_, parts) in enumerate(example.turns):
            _parts(parts, line, log, f"turns[{i}].parts")
        check_role_order(
            example.turns, lambda field, rule, message: log.report(line, field, rule, message), _turn, str
        )


class NeutralPreferenceReader(_Reader[LightPreference]):
    """Checks preference examples (``PreferenceExample`` or its fields as a dict)."""

    model = PreferenceExample
    noun = "a preference example"

    def light_of(self, obj: Any) -> LightPreference:
        return from_preference(obj)

    def check(self, example: LightPreference, line: int, log: ProblemLog) -> None:
        _system(example.system, line, log)
        _prompt(example.prompt, line, log, _prompt_turn)
        _parts(example.preferred, line, log, "preferred.parts")
        _parts(example.rejected, line, log, "rejected.parts")
        if example.preferred == example.rejected:
            log.report(
                line,
                "rejected",
                Rule.IDENTICAL_COMPLETIONS,
                "the preferred and rejected answers are the same",
            )


class NeutralPromptReader(_Reader[LightPrompt]):
    """Checks prompts (``PromptExample``, its fields as a dict, or a string: one user turn)."""

    model = PromptExample
    noun = "a prompt"

    def shortcut(self, obj: Any) -> Any:
        return {"prompt": obj} if isinstance(obj, str) else obj

    def light_of(self, obj: Any) -> LightPrompt:
        return from_prompt(obj)

    def check(self, example: LightPrompt, line: int, log: ProblemLog) -> None:
        _system(example.system, line, log)
        _prompt(example.prompt, line, log, _prompt_turn)


def _dump_part(part: LightPart) -> dict[str, Any]:
    if isinstance(part, str):
        return {"kind": "text", "text": part}
    out: dict[str, Any] = {"kind": "file", "uri": part.uri}
    if part.mime_type is not None:
        out["mime_type"] = part.mime_type
    return out


def _dump_turns(turns: tuple[LightTurn, ...]) -> list[dict[str, Any]]:
    return [{"role": role, "parts": [_dump_part(p) for p in parts]} for role, parts in turns]


def _with_system(system: tuple[LightPart, ...], out: dict[str, Any]) -> dict[str, Any]:
    return {"system": [_dump_part(p) for p in system], **out} if system else out


class NeutralFormat(Codec[Light]):
    """tuneport's own JSONL: one neutral model per line (every kind of data; no gaps)."""

    format = DatasetFormat.NEUTRAL

    def __init__(self, reader: _Reader[Light]) -> None:
        self.reader: _Reader[Light] = reader

    def parse(self, obj: Any, line: int, log: ProblemLog) -> Light | None:
        if not isinstance(obj, dict):
            log.report(line, None, Rule.BAD_TYPE, f"expected a JSON object, got {type(obj).__name__}")
            return None
        return self.reader.parse(obj, line, log)

    def dump(self, example: Light) -> dict[str, Any]:
        if type(example) is LightPreference:
            return _with_system(
                example.system,
                {
                    "prompt": _dump_turns(example.prompt),
                    "preferred": {"role": MODEL, "parts": [_dump_part(p) for p in example.preferred]},
                    "rejected": {"role": MODEL, "parts": [_dump_part(p) for p in example.rejected]},
                },
            )
        if type(example) is LightPrompt:
            return _with_system(example.system, {"prompt": _dump_turns(example.prompt)})
        assert isinstance(example, LightExample)
        return _with_system(example.system, {"turns": _dump_turns(example.turns)})

    def gaps(self, example: Light) -> list[Gap]:
        return []

    def field(
        self, example: Light, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        if type(example) is LightPreference:
            return preference_field(example, turn=turn, part=part, system=system)
        if type(example) is LightPrompt:
            return _model_field("prompt", turn, part, system)
        return neutral_field(turn=turn, part=part, system=system)
