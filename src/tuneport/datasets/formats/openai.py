"""OpenAI chat fine-tuning JSONL: ``{"messages": [{"role", "content"}, ...]}``.

Roles are ``system`` (first message only), ``user`` and ``assistant``;
``content`` is a string or a list of ``{"type": "text"}`` and
``{"type": "image_url"}`` parts (images in user messages only, as OpenAI
requires).  In the neutral model ``assistant`` is ``model`` and the system
message is :attr:`Example.system`.  An image part becomes a file part whose
MIME type is inferred from the URL, since OpenAI carries none.
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
from tuneport.datasets.formats.mime import guess_mime_type
from tuneport.datasets.light import MODEL, USER, FileRef, LightExample, LightPart, LightTurn
from tuneport.datasets.problems import ProblemLog
from tuneport.datasets.rules import Rule

__all__ = ["OpenAICodec"]

_SYSTEM = "system"
_ROLES = {"user": USER, "assistant": MODEL}
_NAMES = {USER: "user", MODEL: "assistant"}
_ALTERNATION = (USER, MODEL)
# Fields OpenAI defines that the neutral model cannot hold: refused by name.
_UNSUPPORTED_TOP = frozenset({"tools", "functions", "parallel_tool_calls"})
_UNSUPPORTED_MESSAGE = frozenset({"name", "weight", "tool_calls", "function_call", "tool_call_id", "refusal"})
_UNSUPPORTED_ROLES = frozenset({"tool", "function", "developer"})


class OpenAICodec(Codec):
    """Reads and writes OpenAI chat fine-tuning examples."""

    format = DatasetFormat.OPENAI

    def role_name(self, role: str) -> str:
        return _NAMES.get(role, role)

    # --- reading -------------------------------------------------------------------

    def parse(self, obj: Any, line: int, log: ProblemLog) -> LightExample | None:
        if type(obj) is not dict:
            log.report(line, None, Rule.BAD_TYPE, f"expected a JSON object, got {kind_of(obj)}")
            return None
        errors = log.error_count
        messages = obj.get("messages")
        if len(obj) != 1 or messages is None:
            for key in obj:
                if key in _UNSUPPORTED_TOP:
                    log.report(
                        line, key, Rule.UNSUPPORTED_FIELD, f"'{key}' is not supported in tuneport's datasets"
                    )
                elif key != "messages":
                    log.report(line, key, Rule.UNKNOWN_FIELD, f"unknown field '{key}' (expected 'messages')")
        if type(messages) is not list:
            if "messages" not in obj:
                log.report(line, "messages", Rule.MISSING_FIELD, "an example needs 'messages'")
            else:
                log.report(
                    line, "messages", Rule.BAD_TYPE, f"expected an array of messages, got {kind_of(messages)}"
                )
            return None
        system: tuple[LightPart, ...] = ()
        turns: list[LightTurn] = []
        offset = 0
        in_order = True
        complete = True
        for i, message in enumerate(messages):
            parsed = self._message(message, i, line, log)
            if parsed is None:
                complete = False
                continue
            role, parts = parsed
            if role == _SYSTEM:
                if i == 0:
                    system, offset = parts, 1
                else:
                    log.report(
                        line,
                        f"messages[{i}].role",
                        Rule.ROLE_ORDER,
                        "a system message may only be the first message",
                    )
                    complete = False
                continue
            if role is not _ALTERNATION[len(turns) & 1]:
                in_order = False
            turns.append((role, parts))
        if not turns and complete:
            log.report(line, "messages", Rule.EMPTY_CONVERSATION, "no user or assistant messages")
        elif complete and (not in_order or turns[-1][0] is not MODEL):
            check_role_order(turns, line, log, lambda i: f"messages[{i + offset}]", self.role_name)
        if log.error_count != errors:
            return None
        return LightExample(system, tuple(turns))

    def _message(
        self, message: Any, i: int, line: int, log: ProblemLog
    ) -> tuple[str, tuple[LightPart, ...]] | None:
        if type(message) is not dict:
            log.report(
                line, f"messages[{i}]", Rule.BAD_TYPE, f"expected a message object, got {kind_of(message)}"
            )
            return None
        if len(message) != 2:
            for key in message:
                if key in _UNSUPPORTED_MESSAGE:
                    log.report(
                        line,
                        f"messages[{i}].{key}",
                        Rule.UNSUPPORTED_FIELD,
                        f"'{key}' is not supported in tuneport's datasets",
                    )
                elif key not in ("role", "content"):
                    log.report(
                        line,
                        f"messages[{i}].{key}",
                        Rule.UNKNOWN_FIELD,
                        f"unknown field '{key}' (a message has 'role' and 'content')",
                    )
        raw = message.get("role")
        role = _ROLES.get(raw) if type(raw) is str else None
        if role is None and raw == _SYSTEM:
            role = _SYSTEM
        if role is None:
            if raw is None:
                log.report(line, f"messages[{i}].role", Rule.MISSING_FIELD, "a message needs a 'role'")
            else:
                hint = " (tool and function messages are not supported)" if raw in _UNSUPPORTED_ROLES else ""
                log.report(
                    line,
                    f"messages[{i}].role",
                    Rule.BAD_ROLE,
                    f"role must be 'system', 'user' or 'assistant', got {raw!r}{hint}",
                )
        content = message.get("content")
        path = f"messages[{i}].content"
        if type(content) is str:
            if not content or content.isspace():
                check_text(content, line, log, path)
            parts: tuple[LightPart, ...] = (content,)
        elif content is None:
            if "content" in message:
                log.report(line, path, Rule.BAD_TYPE, "expected a string or an array of parts, got null")
            else:
                log.report(line, path, Rule.MISSING_FIELD, "a message needs 'content'")
            return None
        else:
            parts = self._parts(content, role, path, line, log)
        if role is None:
            return None
        return role, parts

    def _parts(
        self, content: Any, role: str | None, path: str, line: int, log: ProblemLog
    ) -> tuple[LightPart, ...]:
        if type(content) is not list:
            log.report(
                line, path, Rule.BAD_TYPE, f"expected a string or an array of parts, got {kind_of(content)}"
            )
            return ()
        if not content:
            log.report(line, path, Rule.EMPTY_TURN, "no content parts")
            return ()
        out: list[LightPart] = []
        for j, part in enumerate(content):
            where = f"{path}[{j}]"
            if type(part) is not dict:
                log.report(line, where, Rule.BAD_TYPE, f"expected a content part object, got {kind_of(part)}")
                continue
            kind = part.get("type")
            if kind == "text":
                self._extra_keys(part, ("type", "text"), where, line, log)
                text = part.get("text")
                if type(text) is not str:
                    if text is None:
                        log.report(line, f"{where}.text", Rule.MISSING_FIELD, "a text part needs 'text'")
                    else:
                        log.report(
                            line, f"{where}.text", Rule.BAD_TYPE, f"expected a string, got {kind_of(text)}"
                        )
                    continue
                if not text or text.isspace():
                    check_text(text, line, log, f"{where}.text")
                out.append(text)
            elif kind == "image_url":
                self._extra_keys(part, ("type", "image_url"), where, line, log)
                image = self._image(part.get("image_url"), f"{where}.image_url", line, log)
                if image is None:
                    continue
                if role is not USER and role is not None:
                    log.report(
                        line,
                        where,
                        Rule.FILE_PART_NOT_ALLOWED,
                        "OpenAI accepts image parts in user messages only",
                    )
                out.append(image)
            elif kind is None:
                log.report(line, f"{where}.type", Rule.MISSING_FIELD, "a content part needs a 'type'")
            else:
                log.report(
                    line,
                    f"{where}.type",
                    Rule.UNSUPPORTED_FIELD,
                    f"content parts of type {kind!r} are not supported "
                    "(tuneport holds 'text' and 'image_url')",
                )
        return tuple(out)

    def _extra_keys(
        self, part: dict[str, Any], allowed: tuple[str, str], where: str, line: int, log: ProblemLog
    ) -> None:
        if len(part) != 2:
            for key in part:
                if key not in allowed:
                    log.report(line, f"{where}.{key}", Rule.UNKNOWN_FIELD, f"unknown field '{key}'")

    def _image(self, value: Any, where: str, line: int, log: ProblemLog) -> FileRef | None:
        if type(value) is not dict:
            if value is None:
                log.report(
                    line, where, Rule.MISSING_FIELD, "an image_url part needs 'image_url': {'url': ...}"
                )
            else:
                log.report(
                    line, where, Rule.BAD_TYPE, f"expected an object {{'url': ...}}, got {kind_of(value)}"
                )
            return None
        for key in value:
            if key == "detail":
                log.report(
                    line,
                    f"{where}.detail",
                    Rule.UNSUPPORTED_FIELD,
                    "'detail' is not supported in tuneport's datasets",
                )
            elif key != "url":
                log.report(line, f"{where}.{key}", Rule.UNKNOWN_FIELD, f"unknown field '{key}'")
        url = value.get("url")
        if type(url) is not str:
            if url is None:
                log.report(line, f"{where}.url", Rule.MISSING_FIELD, "an image needs a 'url'")
            else:
                log.report(line, f"{where}.url", Rule.BAD_TYPE, f"expected a string, got {kind_of(url)}")
            return None
        if not url.strip():
            log.report(line, f"{where}.url", Rule.EMPTY_URI, "the image URL is empty")
            return None
        return FileRef(url, guess_mime_type(url))

    # --- writing -------------------------------------------------------------------

    def dump(self, example: LightExample) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if example.system:
            messages.append({"role": _SYSTEM, "content": _content(example.system)})
        for role, parts in example.turns:
            # A lone text part is written as plain string content (the common case, inlined).
            content = parts[0] if len(parts) == 1 and type(parts[0]) is str else _content(parts)
            messages.append({"role": "user" if role is USER else "assistant", "content": content})
        return {"messages": messages}

    def gaps(self, example: LightExample) -> list[Gap]:
        return file_part_gaps(example, in_system="OpenAI system messages hold text only", in_turn=_image_gap)

    def field(
        self, example: LightExample, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        offset = 1 if example.system else 0
        if system:
            index, parts = 0, example.system
        elif turn is None:
            return "messages"
        else:
            index, parts = turn + offset, example.turns[turn][1]
        base = f"messages[{index}].content"
        # A lone text part is written (and read) as the plain string content.
        if part is None or (len(parts) == 1 and isinstance(parts[0], str)):
            return base
        return f"{base}[{part}]"


def _image_gap(role: str, file: FileRef) -> str | None:
    """Why OpenAI cannot hold this file part in a turn, or None."""
    if role is not USER:
        return "OpenAI holds images in user messages only"
    if guess_mime_type(file.uri) != file.mime_type:
        return (
            f"OpenAI image_url parts carry no MIME type, and {file.mime_type!r} is not what "
            f"the URL {file.uri!r} implies (OpenAI takes images only)"
        )
    return None


def _content(parts: tuple[LightPart, ...]) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return [
        {"type": "text", "text": p}
        if isinstance(p, str)
        else {"type": "image_url", "image_url": {"url": p.uri}}
        for p in parts
    ]
