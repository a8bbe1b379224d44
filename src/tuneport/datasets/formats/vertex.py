"""Vertex AI supervised tuning JSONL: ``{"systemInstruction"?, "contents": [...]}``.

Each line is a ``GenerateContentRequest``-shaped example: ``contents`` holds
``{"role": "user"|"model", "parts": [...]}`` turns, parts are ``{"text"}`` or
``{"fileData": {"mimeType", "fileUri"}}``, and ``systemInstruction`` is a
content of text parts.  Google's frontends accept snake_case spellings too,
so they are read; camelCase is written.
"""

from __future__ import annotations

from typing import Any

from tuneport.datasets.formats.base import (
    Codec,
    DatasetFormat,
    Gap,
    check_role_order,
    check_text,
    file_part_gaps,
    kind_of,
)
from tuneport.datasets.light import MODEL, USER, FileRef, LightExample, LightPart, LightTurn
from tuneport.datasets.problems import ProblemLog
from tuneport.datasets.rules import Rule

__all__ = ["VertexCodec"]

_SYSTEM_KEYS = ("systemInstruction", "system_instruction")
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
_FILE_DATA_KEYS = ("fileData", "file_data")
_ROLES = {"user": USER, "model": MODEL}
_ALTERNATION = (USER, MODEL)


class VertexCodec(Codec):
    """Reads and writes Vertex AI supervised tuning examples."""

    format = DatasetFormat.VERTEX

    # --- reading -------------------------------------------------------------------

    def parse(self, obj: Any, line: int, log: ProblemLog) -> LightExample | None:
        if type(obj) is not dict:
            log.report(line, None, Rule.BAD_TYPE, f"expected a JSON object, got {kind_of(obj)}")
            return None
        errors = log.error_count
        contents = obj.get("contents")
        system: tuple[LightPart, ...] = ()
        if len(obj) != 1 or contents is None:
            system = self._top_level(obj, line, log)
        if type(contents) is not list:
            if "contents" not in obj:
                log.report(line, "contents", Rule.MISSING_FIELD, "an example needs 'contents' (its turns)")
            else:
                log.report(
                    line, "contents", Rule.BAD_TYPE, f"expected an array of turns, got {kind_of(contents)}"
                )
            return None
        if not contents:
            log.report(line, "contents", Rule.EMPTY_CONVERSATION, "'contents' holds no turns")
            return None
        turns: list[LightTurn] = []
        in_order = True
        for i, content in enumerate(contents):
            turn = self._turn(content, i, line, log)
            if turn is None:
                continue
            if turn[0] is not _ALTERNATION[i & 1]:
                in_order = False
            turns.append(turn)
        if len(turns) == len(contents) and (not in_order or turns[-1][0] is not MODEL):
            check_role_order(turns, line, log, _turn_field, str)
        if log.error_count != errors:
            return None
        return LightExample(system, tuple(turns))

    def _top_level(self, obj: dict[str, Any], line: int, log: ProblemLog) -> tuple[LightPart, ...]:
        system_key = None
        for key in obj:
            if key == "contents":
                continue
            if key in _SYSTEM_KEYS:
                if system_key is not None:
                    log.report(
                        line,
                        key,
                        Rule.DUPLICATE_FIELD,
                        f"both '{system_key}' and '{key}' are given; keep one",
                    )
                system_key = key
            elif key in _UNSUPPORTED_TOP:
                log.report(
                    line, key, Rule.UNSUPPORTED_FIELD, f"'{key}' is not supported in tuneport's datasets"
                )
            else:
                log.report(
                    line,
                    key,
                    Rule.UNKNOWN_FIELD,
                    f"unknown field '{key}' (expected 'contents' and optionally 'systemInstruction')",
                )
        if system_key is None:
            return ()
        return self._system(obj[system_key], system_key, line, log)

    def _system(self, value: Any, key: str, line: int, log: ProblemLog) -> tuple[LightPart, ...]:
        if type(value) is not dict:
            log.report(
                line,
                key,
                Rule.BAD_TYPE,
                f"expected a content object {{'parts': [...]}}, got {kind_of(value)}",
            )
            return ()
        for field in value:
            # The role of a system instruction is ignored by the service; any string is accepted.
            if field == "role":
                if not isinstance(value[field], str):
                    log.report(line, f"{key}.role", Rule.BAD_TYPE, "expected a string")
            elif field != "parts":
                log.report(line, f"{key}.{field}", Rule.UNKNOWN_FIELD, f"unknown field '{field}'")
        parts = value.get("parts")
        if parts is None:
            log.report(line, f"{key}.parts", Rule.MISSING_FIELD, "the system instruction needs 'parts'")
            return ()
        out = self._parts(parts, f"{key}.parts", line, log)
        for j, part in enumerate(out):
            if isinstance(part, FileRef):
                log.report(
                    line,
                    f"{key}.parts[{j}]",
                    Rule.FILE_PART_NOT_ALLOWED,
                    "a system instruction holds text parts only",
                )
        return out

    def _turn(self, content: Any, i: int, line: int, log: ProblemLog) -> LightTurn | None:
        if type(content) is not dict:
            log.report(
                line, f"contents[{i}]", Rule.BAD_TYPE, f"expected a turn object, got {kind_of(content)}"
            )
            return None
        if len(content) != 2:
            for key in content:
                if key not in ("role", "parts"):
                    log.report(
                        line,
                        f"contents[{i}].{key}",
                        Rule.UNKNOWN_FIELD,
                        f"unknown field '{key}' (a turn has 'role' and 'parts')",
                    )
        raw = content.get("role")
        role = _ROLES.get(raw) if type(raw) is str else None
        if role is None:
            if raw is None:
                log.report(line, f"contents[{i}].role", Rule.MISSING_FIELD, "a turn needs a 'role'")
            else:
                log.report(
                    line,
                    f"contents[{i}].role",
                    Rule.BAD_ROLE,
                    f"role must be 'user' or 'model', got {raw!r}"
                    + (" (put system text in 'systemInstruction')" if raw == "system" else ""),
                )
        parts = content.get("parts")
        if parts is None:
            log.report(line, f"contents[{i}].parts", Rule.MISSING_FIELD, "a turn needs 'parts'")
            return None
        out = self._parts(parts, f"contents[{i}].parts", line, log)
        if role is None:
            return None
        return (role, out)

    def _parts(self, parts: Any, path: str, line: int, log: ProblemLog) -> tuple[LightPart, ...]:
        if type(parts) is not list:
            log.report(line, path, Rule.BAD_TYPE, f"expected an array of parts, got {kind_of(parts)}")
            return ()
        if not parts:
            log.report(line, path, Rule.EMPTY_TURN, "no parts")
            return ()
        out: list[LightPart] = []
        for j, part in enumerate(parts):
            # Fast path: a well-formed text part.
            if type(part) is dict and len(part) == 1:
                text = part.get("text")
                if type(text) is str:
                    if not text or text.isspace():
                        check_text(text, line, log, f"{path}[{j}].text")
                    out.append(text)
                    continue
            parsed = self._part(part, f"{path}[{j}]", line, log)
            if parsed is not None:
                out.append(parsed)
        return tuple(out)

    def _part(self, part: Any, path: str, line: int, log: ProblemLog) -> LightPart | None:
        if type(part) is not dict:
            log.report(line, path, Rule.BAD_TYPE, f"expected a part object, got {kind_of(part)}")
            return None
        result: LightPart | None = None
        kinds = 0
        for key, value in part.items():
            if key == "text":
                kinds += 1
                if type(value) is not str:
                    log.report(
                        line, f"{path}.text", Rule.BAD_TYPE, f"expected a string, got {kind_of(value)}"
                    )
                else:
                    check_text(value, line, log, f"{path}.text")
                    result = value
            elif key in _FILE_DATA_KEYS:
                kinds += 1
                result = self._file_data(value, f"{path}.{key}", line, log)
            elif key in _UNSUPPORTED_PART:
                kinds += 1
                log.report(
                    line,
                    f"{path}.{key}",
                    Rule.UNSUPPORTED_FIELD,
                    f"'{key}' parts are not supported (tuneport holds text and fileData parts)",
                )
            else:
                log.report(
                    line,
                    f"{path}.{key}",
                    Rule.UNKNOWN_FIELD,
                    f"unknown field '{key}' (expected 'text' or 'fileData')",
                )
        if kinds == 0:
            log.report(line, f"{path}.text", Rule.MISSING_FIELD, "a part needs 'text' or 'fileData'")
            return None
        if kinds > 1:
            log.report(line, path, Rule.DUPLICATE_FIELD, "a part holds exactly one of 'text' or 'fileData'")
            return None
        return result

    def _file_data(self, value: Any, path: str, line: int, log: ProblemLog) -> FileRef | None:
        if type(value) is not dict:
            log.report(line, path, Rule.BAD_TYPE, f"expected an object, got {kind_of(value)}")
            return None
        uri = mime = None
        ok = True
        for key, item in value.items():
            if key in ("fileUri", "file_uri", "mimeType", "mime_type"):
                if type(item) is not str:
                    log.report(
                        line, f"{path}.{key}", Rule.BAD_TYPE, f"expected a string, got {kind_of(item)}"
                    )
                    ok = False
                elif key.startswith("file"):
                    uri = item
                else:
                    mime = item
            else:
                log.report(
                    line,
                    f"{path}.{key}",
                    Rule.UNKNOWN_FIELD,
                    f"unknown field '{key}' (fileData has 'mimeType' and 'fileUri')",
                )
        if ok and uri is None:
            log.report(line, f"{path}.fileUri", Rule.MISSING_FIELD, "fileData needs a 'fileUri'")
            ok = False
        elif uri is not None and not uri.strip():
            log.report(line, f"{path}.fileUri", Rule.EMPTY_URI, "the file URI is empty")
            ok = False
        if ok and not mime:
            log.report(line, f"{path}.mimeType", Rule.MISSING_FIELD, "fileData needs a 'mimeType'")
            ok = False
        return FileRef(uri, mime) if ok and uri is not None else None

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
