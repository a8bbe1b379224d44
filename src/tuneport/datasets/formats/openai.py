"""OpenAI chat fine-tuning JSONL: ``{"messages": [{"role", "content"}, ...]}``.

Roles are ``system`` (first message only), ``user`` and ``assistant``;
``content`` is a string or a list of ``{"type": "text"}`` and
``{"type": "image_url"}`` parts (images in user messages only, as OpenAI
requires).  In the neutral model ``assistant`` is ``model`` and the system
message is :attr:`Example.system`.  An image part becomes a file part whose
MIME type is inferred from the URL, since OpenAI carries none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneport.datasets.formats.base import (
    DatasetFormat,
    Format,
    Gap,
    check_prompt_order,
    check_role_order,
    file_part_gaps,
    roles_alternate,
)
from tuneport.datasets.formats.grammar import (
    INVALID,
    Array,
    Choice,
    Field,
    Record,
    Report,
    StringOrArray,
    Tagged,
    Text,
    TextKind,
)
from tuneport.datasets.light import MODEL, USER, FileRef, LightExample, LightPart, LightPrompt, LightTurn
from tuneport.datasets.problems import Rule

__all__ = [
    "GRAMMAR",
    "IMAGES_IN_USER_MESSAGES",
    "OpenAIFormat",
    "guess_mime_type",
    "prompt_refine",
    "read_messages",
]

_SYSTEM = "system"
_NAMES = {USER: "user", MODEL: "assistant"}
#: Why an image part outside a user message is refused.
IMAGES_IN_USER_MESSAGES = "OpenAI accepts image parts in user messages only"
# Fields OpenAI defines that the neutral model cannot hold: refused by name.
_UNSUPPORTED_TOP = frozenset({"tools", "functions", "parallel_tool_calls"})
_UNSUPPORTED_MESSAGE = frozenset({"name", "weight", "tool_calls", "function_call", "tool_call_id", "refusal"})
_UNSUPPORTED_ROLES = ("tool", "function", "developer")

# MIME types of image URLs come from a fixed table, never the machine's mime
# database: mimetypes reads /etc/mime.types and the registry, so its answers
# differ between machines, and a conversion must give the same file everywhere.
_BY_EXTENSION = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
}


def guess_mime_type(uri: str) -> str | None:
    """The image MIME type of *uri* from a ``data:`` header or the path's extension (or ``None``)."""
    if uri.startswith("data:"):
        header = uri[5:].split(",", 1)[0]
        mime = header.split(";", 1)[0]
        return mime or None
    # The path without query or fragment (urlsplit would do, at ten times the cost).
    path = uri
    for mark in ("?", "#"):
        cut = path.find(mark)
        if cut >= 0:
            path = path[:cut]
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    return _BY_EXTENSION.get(path[dot:].lower())


def _role_name(role: str) -> str:
    return _NAMES.get(role, role)


def read_messages(
    messages: tuple[Any, ...], report: Report, prefix: str = "messages", prompt: bool = False
) -> Any:
    """The :class:`LightExample` of chat messages, or with *prompt* a prompt's ``(system parts, turns)``.

    :data:`INVALID` after reporting.  The system message may be the first
    message only; images are in user messages only; the turns alternate
    user/assistant, and a prompt's end with a user message.  *prefix* is the
    messages' path.  One function for both (no wrapper): it is the chat
    grammar's refine hook, run once per line.
    """
    system: tuple[LightPart, ...] = ()
    turns: list[LightTurn] = []
    offset = 0
    ok = complete = True
    for i, message in enumerate(messages):
        if message is INVALID:
            complete = False
            continue
        role, parts = message
        if role is not USER:
            for j, part in enumerate(parts):
                if type(part) is FileRef:
                    report(f"{prefix}[{i}].content[{j}]", Rule.FILE_PART_NOT_ALLOWED, IMAGES_IN_USER_MESSAGES)
                    ok = False
        if role is _SYSTEM:
            if i == 0:
                system, offset = parts, 1
            else:
                report(
                    f"{prefix}[{i}].role", Rule.ROLE_ORDER, "a system message may only be the first message"
                )
                complete = False
            continue
        turns.append(message)
    if not turns and complete:
        report(prefix, Rule.EMPTY_CONVERSATION, "no user or assistant messages")
        return INVALID
    if not complete:
        return INVALID
    if prompt:
        if not check_prompt_order(
            tuple(turns), report, lambda i: f"{prefix}[{i + offset}]", _role_name, "the messages"
        ):
            return INVALID
        return (system, tuple(turns)) if ok else INVALID
    if not roles_alternate(turns):
        check_role_order(turns, report, lambda i: f"{prefix}[{i + offset}]", _role_name)
        return INVALID
    return LightExample(system, tuple(turns)) if ok else INVALID


def prompt_refine(prefix: str) -> Callable[[tuple[Any], Report], Any]:
    """The refine hook of a record whose one field holds a prompt's chat messages (at path *prefix*)."""

    def refine(value: tuple[Any], report: Report) -> Any:
        # A plain pair, not a LightPrompt, comes back: a preference example needs no LightPrompt.
        prompt = read_messages(value[0], report, prefix, True)
        return INVALID if prompt is INVALID else LightPrompt(*prompt)

    return refine


_IMAGE = Record(
    fields=(
        Field(
            "url",
            Text(TextKind.URI, empty_message="the image URL is empty"),
            required="an image needs a 'url'",
        ),
    ),
    build=lambda url: FileRef(url, guess_mime_type(url)),
    what="an object {'url': ...}",
    unsupported=frozenset({"detail"}),
)
_PART = Tagged(
    variants=(
        Record(
            fields=(Field("text", Text(), required="a text part needs 'text'"),),
            build=lambda text: text,
            tag="text",
        ),
        Record(
            fields=(
                Field("image_url", _IMAGE, required="an image_url part needs 'image_url': {'url': ...}"),
            ),
            build=lambda image: image,
            tag="image_url",
        ),
    ),
    missing="a content part needs a 'type'",
    unsupported_message=(
        "content parts of type {tag!r} are not supported (tuneport holds 'text' and 'image_url')"
    ),
    what="a content part object",
)
_MESSAGE = Record(
    fields=(
        Field(
            "role",
            Choice(
                {_SYSTEM: _SYSTEM, "user": USER, "assistant": MODEL},
                "role must be 'system', 'user' or 'assistant', got {value!r}",
                hints=dict.fromkeys(_UNSUPPORTED_ROLES, " (tool and function messages are not supported)"),
            ),
            required="a message needs a 'role'",
        ),
        Field(
            "content",
            StringOrArray(
                Text(),
                Array(_PART, what="an array of parts", empty=(Rule.EMPTY_TURN, "no content parts")),
                what="a string or an array of parts",
            ),
            required="a message needs 'content'",
        ),
    ),
    what="a message object",
    unknown="unknown field '{key}' (a message has 'role' and 'content')",
    unsupported=_UNSUPPORTED_MESSAGE,
)
#: Chat messages; invalid ones kept in place, so the turn checks see the indices.
_MESSAGES = Array(_MESSAGE, what="an array of messages", keep_invalid=True)
#: An OpenAI chat fine-tuning example.
GRAMMAR = Record(
    fields=(
        Field(
            "messages",
            _MESSAGES,
            required="an example needs 'messages'",
        ),
    ),
    build=lambda messages: messages,
    refine=read_messages,
    what="a JSON object",
    unknown="unknown field '{key}' (expected 'messages')",
    unsupported=_UNSUPPORTED_TOP,
)


class OpenAIFormat(Format):
    """Reads and writes OpenAI chat fine-tuning examples."""

    format = DatasetFormat.OPENAI
    grammar = GRAMMAR

    def role_name(self, role: str) -> str:
        return _role_name(role)

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
