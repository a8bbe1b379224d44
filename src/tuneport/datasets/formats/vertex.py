"""Vertex AI supervised tuning JSONL: ``{"systemInstruction"?, "contents": [...]}``.

Each line is a ``GenerateContentRequest``-shaped example: ``contents`` holds
``{"role": "user"|"model", "parts": [...]}`` turns, parts are ``{"text"}`` or
``{"fileData": {"mimeType", "fileUri"}}``, and ``systemInstruction`` is a
content of text parts.  Google's frontends accept snake_case spellings too,
so they are read; camelCase is written.
"""

from __future__ import annotations

from typing import Any

from tuneport.datasets.formats.base import DatasetFormat, Format, Gap, file_part_gaps
from tuneport.datasets.formats.grammar import (
    Alternating,
    Array,
    Choice,
    Field,
    OneOf,
    Record,
    Text,
    TextKind,
    TextOnly,
)
from tuneport.datasets.light import MODEL, USER, FileRef, LightExample, LightPart
from tuneport.datasets.problems import Rule

__all__ = ["GRAMMAR", "VertexFormat"]

# Fields Google defines on an example or a part that the neutral model cannot hold:
# refused by name (unsupported-field) rather than as typos (unknown-field).
_UNSUPPORTED_TOP = frozenset({"tools", "toolConfig", "tool_config", "generationConfig", "generation_config"})
_UNSUPPORTED_PART = frozenset(
    {
        "inlineData",
        "inline_data",
        "functionCall",
        "function_call",
        "functionResponse",
        "function_response",
        "executableCode",
        "executable_code",
        "codeExecutionResult",
        "code_execution_result",
        "videoMetadata",
        "video_metadata",
        "thought",
    }
)


_FILE_DATA = Record(
    fields=(
        Field("fileUri", Text(TextKind.URI), required="fileData needs a 'fileUri'", aliases=("file_uri",)),
        Field(
            "mimeType",
            Text(TextKind.LABEL, empty_message="fileData needs a 'mimeType'"),
            required="fileData needs a 'mimeType'",
            aliases=("mime_type",),
        ),
    ),
    build=FileRef,
    unknown="unknown field '{key}' (fileData has 'mimeType' and 'fileUri')",
)
_PARTS = Array(
    OneOf(
        fields=(Field("text", Text()), Field("fileData", _FILE_DATA, aliases=("file_data",))),
        missing="a part needs 'text' or 'fileData'",
        duplicate="a part holds exactly one of 'text' or 'fileData'",
        what="a part object",
        unknown="unknown field '{key}' (expected 'text' or 'fileData')",
        unsupported=_UNSUPPORTED_PART,
        unsupported_message="'{key}' parts are not supported (tuneport holds text and fileData parts)",
    ),
    what="an array of parts",
    empty=(Rule.EMPTY_TURN, "no parts"),
)
_TURN = Record(
    fields=(
        Field(
            "role",
            Choice(
                {"user": USER, "model": MODEL},
                "role must be 'user' or 'model', got {value!r}",
                hints={"system": " (put system text in 'systemInstruction')"},
            ),
            required="a turn needs a 'role'",
        ),
        Field("parts", _PARTS, required="a turn needs 'parts'"),
    ),
    what="a turn object",
    unknown="unknown field '{key}' (a turn has 'role' and 'parts')",
)
#: The turns of an example (or of a prompt); invalid ones kept in place, so turn checks see the indices.
_TURNS = Array(
    _TURN,
    what="an array of turns",
    empty=(Rule.EMPTY_CONVERSATION, "'contents' holds no turns"),
    keep_invalid=True,
)
# The role of a system instruction is ignored by the service; any string is accepted.
_SYSTEM = Record(
    fields=(
        Field("role", Text(TextKind.ANY)),
        Field("parts", _PARTS, required="the system instruction needs 'parts'"),
    ),
    build="parts",
    checks=(TextOnly("parts", "a system instruction holds text parts only"),),
    what="a content object {'parts': [...]}",
)
#: A Vertex example (camelCase is written; the snake_case spellings are read too).
GRAMMAR = Record(
    fields=(
        Field("systemInstruction", _SYSTEM, aliases=("system_instruction",), default=()),
        Field("contents", _TURNS, required="an example needs 'contents' (its turns)"),
    ),
    build=LightExample,
    checks=(Alternating("contents"),),
    what="a JSON object",
    unknown="unknown field '{key}' (expected 'contents' and optionally 'systemInstruction')",
    unsupported=_UNSUPPORTED_TOP,
)


class VertexFormat(Format):
    """Reads and writes Vertex AI supervised tuning examples."""

    format = DatasetFormat.VERTEX
    grammar = GRAMMAR

    # --- writing -------------------------------------------------------------------

    def dump(self, example: LightExample) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if example.system:
            out["systemInstruction"] = {"parts": [_dump_part(p) for p in example.system]}
        out["contents"] = [
            {"role": role, "parts": [_dump_part(p) for p in parts]} for role, parts in example.turns
        ]
        return out

    def gaps(self, example: LightExample) -> list[Gap]:
        return file_part_gaps(
            example,
            in_system="a Vertex systemInstruction holds text only",
            in_turn=lambda role, file: (
                None if file.mime_type else f"Vertex fileData needs a MIME type and {file.uri!r} has none"
            ),
        )

    def field(
        self, example: LightExample, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        if system:
            return "systemInstruction" + (f".parts[{part}]" if part is not None else "")
        if turn is None:
            return "contents"
        return _turn_field(turn) + (f".parts[{part}]" if part is not None else "")


def _turn_field(i: int) -> str:
    return f"contents[{i}]"


def _dump_part(part: LightPart) -> dict[str, Any]:
    if isinstance(part, str):
        return {"text": part}
    return {"fileData": {"mimeType": part.mime_type, "fileUri": part.uri}}
