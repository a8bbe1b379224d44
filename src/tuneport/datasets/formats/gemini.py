"""Gemini API tuning pairs: ``{"text_input": ..., "output": ...}``.

The Gemini API tunes on single question/answer pairs of text, so a pair is
the simplest neutral example: one user turn and one model turn.  Input may
be spelled ``text_input`` or ``textInput`` (Google's frontends accept both);
``text_input`` is written, as in Google's tuning guide.
"""

from __future__ import annotations

from typing import Any

from tuneport.datasets.formats.base import (
    Codec,
    DatasetFormat,
    FileLayout,
    Gap,
    check_text,
    file_part_gaps,
    kind_of,
)
from tuneport.datasets.light import MODEL, USER, LightExample, part_text
from tuneport.datasets.problems import ProblemLog
from tuneport.datasets.rules import Rule

__all__ = ["INPUT_KEYS", "OUTPUT_KEY", "GeminiCodec"]

INPUT_KEYS = ("text_input", "textInput")
OUTPUT_KEY = "output"


class GeminiCodec(Codec):
    """Reads and writes Gemini API ``{text_input, output}`` pairs."""

    format = DatasetFormat.GEMINI
    writable_layouts = frozenset({FileLayout.JSONL, FileLayout.JSON, FileLayout.CSV})

    def parse(self, obj: Any, line: int, log: ProblemLog) -> LightExample | None:
        if type(obj) is not dict:
            log.report(line, None, Rule.BAD_TYPE, f"expected a JSON object, got {kind_of(obj)}")
            return None
        errors = log.error_count
        input_key = None
        for key in obj:
            if key in INPUT_KEYS:
                if input_key is not None:
                    log.report(line, key, Rule.DUPLICATE_FIELD, f"both '{input_key}' and '{key}' are given")
                input_key = key
            elif key != OUTPUT_KEY:
                log.report(
                    line,
                    key,
                    Rule.UNKNOWN_FIELD,
                    f"unknown field '{key}' (a Gemini API example has 'text_input' and 'output')",
                )
        text_input = self._text(obj, input_key or "text_input", line, log)
        output = self._text(obj, OUTPUT_KEY, line, log)
        if text_input is None or output is None or log.error_count != errors:
            return None
        return LightExample((), ((USER, (text_input,)), (MODEL, (output,))))

    def _text(self, obj: dict[str, Any], key: str, line: int, log: ProblemLog) -> str | None:
        value = obj.get(key)
        if type(value) is str:
            if not value or value.isspace():
                check_text(value, line, log, key)
            return value
        if value is None and key not in obj:
            # The API marks only `output` required, but an example without an
            # input teaches nothing and no other format can hold it.
            log.report(line, key, Rule.MISSING_FIELD, f"an example needs '{key}'")
        else:
            log.report(line, key, Rule.BAD_TYPE, f"expected a string, got {kind_of(value)}")
        return None

    def dump(self, example: LightExample) -> dict[str, Any]:
        (_, question), (_, answer) = example.turns
        return {"text_input": part_text(question), "output": part_text(answer)}

    def gaps(self, example: LightExample) -> list[Gap]:
        found: list[Gap] = []
        if example.system:
            found.append(
                Gap(Rule.SYSTEM_NOT_ALLOWED, "Gemini API examples have no system instruction", system=True)
            )
        if len(example.turns) != 2:
            found.append(
                Gap(
                    Rule.MULTI_TURN_NOT_ALLOWED,
                    "Gemini API examples are one question and one answer; "
                    f"this one has {len(example.turns)} turns",
                )
            )
        found += file_part_gaps(
            example, in_system=None, in_turn=lambda role, file: "Gemini API examples hold text only"
        )
        return found

    def split(self, example: LightExample) -> list[LightExample] | None:
        # One pair per user→model exchange; earlier turns are dropped (see docs/datasets.md).
        turns = example.turns
        return [LightExample((), (turns[k], turns[k + 1])) for k in range(0, len(turns) - 1, 2)]

    def field(
        self, example: LightExample, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        if turn == 0:
            return "text_input"
        if turn == 1:
            return OUTPUT_KEY
        return None
