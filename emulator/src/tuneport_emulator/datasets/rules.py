"""Google's documented rules for one Vertex AI supervised tuning example (one JSONL line).

From "Prepare supervised fine-tuning data for Gemini models": an example is
a JSON object with a required ``contents`` (the conversation, ``Content``
objects of a ``role``, ``user`` or ``model``, and ``parts``) and an optional
``systemInstruction`` (a ``Content`` of text parts whose ``role`` is
ignored); ``tools`` and ``toolConfig`` carry function declarations for
function-calling tuning.  A part holds one of ``text``, ``fileData``
(``mimeType`` and ``fileUri``), ``functionCall`` or ``functionResponse``;
``videoMetadata``, ``mediaResolution`` and thought markers may go with it.
Turns alternate between ``user`` and ``model`` and the last is the
``model`` answer the tuning learns.  As protobuf's JSON parser does, the
snake_case spelling of a field is read like its camelCase one.

The walk is iterative and goes no deeper than these fixed levels; free-form
values (``args``, ``response``, ``tools``) are only measured, so no input
can exhaust the stack.  The first rule a line breaks is its problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Example", "Problem", "Turn", "check_example"]

_TOP = {
    "contents": "contents",
    "systemInstruction": "systemInstruction",
    "system_instruction": "systemInstruction",
    "tools": "tools",
    "toolConfig": "toolConfig",
    "tool_config": "toolConfig",
}
_TOP_HINT = "an example has 'contents' and optionally 'systemInstruction', 'tools' and 'toolConfig'"
_TURN = {"role": "role", "parts": "parts"}
_DATA = {
    "text": "text",
    "fileData": "fileData",
    "file_data": "fileData",
    "functionCall": "functionCall",
    "function_call": "functionCall",
    "functionResponse": "functionResponse",
    "function_response": "functionResponse",
}
_MODIFIERS = {
    "videoMetadata": "videoMetadata",
    "video_metadata": "videoMetadata",
    "mediaResolution": "mediaResolution",
    "media_resolution": "mediaResolution",
    "thought": "thought",
    "thoughtSignature": "thoughtSignature",
    "thought_signature": "thoughtSignature",
}
#: Part fields of Content that the tuning data format does not list.
_NOT_FOR_TUNING = frozenset(
    {"inlineData", "inline_data", "executableCode", "executable_code", "codeExecutionResult",
     "code_execution_result"}
)  # fmt: skip
_FILE_DATA = {"mimeType": "mimeType", "mime_type": "mimeType", "fileUri": "fileUri", "file_uri": "fileUri"}
_ROLES = ("user", "model")
_KINDS = "'text', 'fileData', 'functionCall', 'functionResponse'"


@dataclass(frozen=True)
class Turn:
    """One turn of a valid example: its role and the text of its text parts."""

    role: str
    text: str


@dataclass(frozen=True)
class Example:
    """A valid example, as far as measuring it goes."""

    #: The text of the system instruction ("" if none).
    system: str
    turns: tuple[Turn, ...]
    #: Whether a part refers to a file (the example is multimodal).
    has_files: bool
    #: A preference example's completions, the preferred one first (its turns end with the prompt).
    completions: tuple[Turn, ...] = ()
    #: Their scores, in the same order.
    scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class Problem:
    """The rule an example breaks: where (a field path, or None for the whole line) and what."""

    field: str | None
    message: str


class _Broken(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(field, message)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _object(value: Any, where: str | None, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Broken(where, f"expected {what}, got {_kind(value)}")
    return value


def _array(value: Any, where: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Broken(where, f"expected {what}, got {_kind(value)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Broken(where, f"expected a string, got {_kind(value)}")
    return value


def _fields(
    value: Mapping[str, Any], known: Mapping[str, str], where: str | None, hint: str
) -> dict[str, Any]:
    """The fields of an object by canonical name; unknown or doubly-spelled fields break the rule."""
    found: dict[str, Any] = {}
    for key, item in value.items():
        name = known.get(key)
        if name is None:
            raise _Broken(where, f"unknown field '{key}' ({hint})")
        if name in found:
            raise _Broken(_join(where, name), f"'{name}' is given twice (camelCase and snake_case)")
        found[name] = item
    return found


def _join(where: str | None, name: str) -> str:
    return name if not where else f"{where}.{name}"


def _check_depth(value: Any, where: str, levels: int) -> None:
    """Refuse a free-form value nested more than ``levels`` deep (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > levels:
                raise _Broken(where, f"nested more than {levels} levels deep")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _file_data(value: Any, where: str) -> None:
    fields = _fields(
        _object(value, where, "an object {'mimeType', 'fileUri'}"),
        _FILE_DATA,
        where,
        "fileData has 'mimeType' and 'fileUri'",
    )
    for name in ("mimeType", "fileUri"):
        if not _string(fields.get(name, ""), _join(where, name)).strip():
            raise _Broken(_join(where, name), f"fileData needs a '{name}'")


def _function_part(value: Any, where: str, payload: str, levels: int) -> None:
    fields = _object(value, where, f"an object {{'name', '{payload}'}}")
    if not isinstance(fields.get("name"), str) or not fields["name"]:
        raise _Broken(_join(where, "name"), "a function call or response needs a 'name'")
    _check_depth(value, where, levels)


def _parts(
    value: Any, where: str, *, text_only: bool, levels: int, what: str = "a system instruction"
) -> tuple[str, bool]:
    """(the text of the text parts, whether a part is a file) of a ``parts`` array."""
    parts = _array(value, where, "an array of parts")
    if not parts:
        raise _Broken(where, "no parts")
    texts: list[str] = []
    files = False
    for index, raw in enumerate(parts):
        if isinstance(raw, dict) and len(raw) == 1 and isinstance(raw.get("text"), str):
            texts.append(raw["text"])  # {"text": "..."}: what the general walk below accepts as is
            continue
        at = f"{where}[{index}]"
        part = _object(raw, at, "a part object")
        data: list[str] = []
        for key, item in part.items():
            if key in _NOT_FOR_TUNING:
                raise _Broken(at, f"'{key}' parts are not part of the tuning data format ({_KINDS})")
            name = _DATA.get(key) or _MODIFIERS.get(key)
            if name is None:
                raise _Broken(at, f"unknown field '{key}' (a part holds one of {_KINDS})")
            if key in _DATA:
                data.append(name)
            elif name in ("videoMetadata", "mediaResolution"):
                _check_depth(item, _join(at, name), levels)
        if not data:
            raise _Broken(at, f"a part needs one of {_KINDS}")
        if len(data) > 1:
            raise _Broken(at, f"a part holds one kind of data, got {' and '.join(sorted(set(data)))}")
        kind = data[0]
        item = next(v for k, v in part.items() if _DATA.get(k) == kind)
        if text_only and kind != "text":
            raise _Broken(at, f"{what} holds text parts only")
        if kind == "text":
            texts.append(_string(item, _join(at, "text")))
        elif kind == "fileData":
            _file_data(item, _join(at, "fileData"))
            files = True
        else:
            _function_part(item, _join(at, kind), "args" if kind == "functionCall" else "response", levels)
    return "".join(texts), files


def _turns(
    value: Any, *, levels: int, last: str = "model", text_only: str | None = None
) -> tuple[tuple[Turn, ...], bool]:
    """The turns of ``contents``: alternating, ending with a ``last`` turn (``text_only``: its reason)."""
    contents = _array(value, "contents", "an array of turns")
    if not contents:
        raise _Broken("contents", "'contents' holds no turns")
    turns: list[Turn] = []
    files = False
    for index, raw in enumerate(contents):
        at = f"contents[{index}]"
        if isinstance(raw, dict) and len(raw) == 2 and "parts" in raw and raw.get("role") in _ROLES:
            role, parts = raw["role"], raw["parts"]  # {"role", "parts"}: the checks below pass
        else:
            fields = _fields(_object(raw, at, "a turn object"), _TURN, at, "a turn has 'role' and 'parts'")
            if "role" not in fields:
                raise _Broken(_join(at, "role"), "a turn needs a 'role' ('user' or 'model')")
            role = fields["role"]
            if role not in _ROLES:
                hint = " (put system text in 'systemInstruction')" if role == "system" else ""
                raise _Broken(_join(at, "role"), f"role must be 'user' or 'model', got {role!r}{hint}")
            if "parts" not in fields:
                raise _Broken(_join(at, "parts"), "a turn needs 'parts'")
            parts = fields["parts"]
        text, has_files = _parts(
            parts, f"{at}.parts", text_only=text_only is not None, levels=levels, what=text_only or ""
        )
        if turns and turns[-1].role == role:
            raise _Broken(
                _join(at, "role"), f"turns alternate between 'user' and 'model'; two {role!r} turns in a row"
            )
        turns.append(Turn(role, text))
        files = files or has_files
    if turns[-1].role != last:
        raise _Broken(
            f"contents[{len(turns) - 1}].role",
            "the last turn is the answer the tuning learns: its role must be 'model'"
            if last == "model"
            else "the last turn is the prompt the model answers: its role must be 'user'",
        )
    return tuple(turns), files


def _system(value: Any, *, levels: int) -> str:
    where = "systemInstruction"
    fields = _object(value, where, "a content object {'parts': [...]}")
    unknown = [key for key in fields if key not in ("role", "parts")]
    if unknown:
        raise _Broken(where, f"unknown field '{unknown[0]}' (a content has 'role' and 'parts')")
    if "role" in fields:
        _string(fields["role"], _join(where, "role"))  # any role: the service ignores it
    if "parts" not in fields:
        raise _Broken(_join(where, "parts"), "the system instruction needs 'parts'")
    text, _ = _parts(fields["parts"], _join(where, "parts"), text_only=True, levels=levels)
    return text


def check_example(value: Any, *, max_nesting: int) -> Example | Problem:
    """The example a parsed line holds, or the first documented rule it breaks."""
    try:
        fields = _fields(_object(value, None, "a JSON object"), _TOP, None, _TOP_HINT)
        if "contents" not in fields:
            raise _Broken("contents", "an example needs 'contents' (its turns)")
        system = (
            _system(fields["systemInstruction"], levels=max_nesting) if "systemInstruction" in fields else ""
        )
        for name in ("tools", "toolConfig"):
            if name in fields:
                what = "an array of tools" if name == "tools" else "an object"
                checked = _array if name == "tools" else _object
                checked(fields[name], name, what)
                _check_depth(fields[name], name, max_nesting)
        turns, files = _turns(fields["contents"], levels=max_nesting)
    except _Broken as broken:
        return broken.problem
    return Example(system, turns, files)
