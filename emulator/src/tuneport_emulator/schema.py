"""Proto3 JSON, as Google's REST front end reads and writes it, driven by small schemas.

A surface declares the messages it speaks with :class:`Schema` (one line per
field, e.g. ``"snapshots TuningSnapshot[] ro"``).  :func:`normalize` then
reads a request body the way ESF does: camelCase or the proto's snake_case
names, enums as names or numbers, 64-bit integers as strings or numbers,
``null`` as unset, output-only fields validated and then ignored, and
everything else refused with ESF's wording and the field's path.
:func:`render` writes a reply: enums as names, or as numbers under
``$alt=json;enum-encoding=int``, and 64-bit integers always as strings.

The normalized form (camelCase keys, enum names, Python ints and floats) is
what the store keeps, so records stay plain JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuneport_emulator.wire import ApiError, field_violation, parse_timestamp

__all__ = ["Enum", "Field", "Message", "Schema", "lookup_message", "normalize", "render", "type_url"]

#: Scalar kinds and ESF's label for them in "Invalid value" messages.
_SCALARS = {
    "string": "TYPE_STRING",
    "bytes": "TYPE_BYTES",
    "bool": "TYPE_BOOL",
    "int32": "TYPE_INT32",
    "uint32": "TYPE_UINT32",
    "int64": "TYPE_INT64",
    "uint64": "TYPE_UINT64",
    "float": "TYPE_FLOAT",
    "double": "TYPE_DOUBLE",
    "timestamp": "type.googleapis.com/google.protobuf.Timestamp",
    "duration": "type.googleapis.com/google.protobuf.Duration",
    # Free-form JSON (google.protobuf.Struct/Value, or a message this emulator
    # does not model field by field): any JSON value is accepted as is.
    "json": "type.googleapis.com/google.protobuf.Value",
    # google.protobuf.Any: an object with "@type"; rendered through that type.
    "any": "type.googleapis.com/google.protobuf.Any",
}
_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")

#: Every message and enum any surface declared, by full proto name (for Any).
_MESSAGES: dict[str, Message] = {}
_ENUMS: dict[str, Enum] = {}


def type_url(full_name: str) -> str:
    """The ``@type`` URL of a message: ``type.googleapis.com/<full name>``."""
    return f"type.googleapis.com/{full_name}"


def lookup_message(full_name: str) -> Message:
    """A declared message by full proto name (``KeyError`` if unknown)."""
    return _MESSAGES[full_name]


@dataclass(frozen=True)
class Enum:
    """A proto enum: names to numbers."""

    full_name: str
    values: Mapping[str, int]

    def name_of(self, number: int) -> str | None:
        for name, value in self.values.items():
            if value == number:
                return name
        return None


@dataclass(frozen=True)
class Field:
    """One field of a message."""

    name: str  # lowerCamelCase JSON name
    proto_name: str  # snake_case proto name
    kind: str  # a key of _SCALARS, "enum" or "message"
    type_name: str | None = None  # full name of the enum or message
    repeated: bool = False
    output_only: bool = False
    oneof: str | None = None


@dataclass
class Message:
    """A proto message: its fields by JSON name and by proto name."""

    full_name: str
    fields: dict[str, Field] = field(default_factory=dict)
    by_proto: dict[str, Field] = field(default_factory=dict)

    @property
    def short_name(self) -> str:
        return self.full_name.rsplit(".", 1)[-1]

    def add(self, f: Field) -> None:
        self.fields[f.name] = f
        self.by_proto[f.proto_name] = f

    def find(self, key: str) -> Field | None:
        """The field spelled ``key`` (camelCase or snake_case)."""
        return self.fields.get(key) or self.by_proto.get(key)


class Schema:
    """Declares the messages and enums of one proto package.

    Field specs are ``"<jsonName> <type>[[]] [ro] [oneof=<group>]"``, where
    ``<type>`` is a scalar kind or the name of a message or enum of this
    package (or a full name with dots); ``[]`` marks a repeated field and
    ``ro`` an output-only one.  Names resolve when first used, so messages
    can refer to each other in any order.
    """

    def __init__(self, package: str) -> None:
        self.package = package
        self._pending: list[tuple[Message, list[str]]] = []

    def _full(self, name: str) -> str:
        if name.startswith("google."):
            return name
        return f"{self.package}.{name}"

    def enum(self, name: str, values: Iterable[str] | Mapping[str, int]) -> Enum:
        """Declare an enum; a plain list numbers the values from 0 in order."""
        mapping = dict(values) if isinstance(values, Mapping) else {v: i for i, v in enumerate(values)}
        declared = Enum(self._full(name), mapping)
        _ENUMS[declared.full_name] = declared
        return declared

    def message(self, name: str, *specs: str) -> Message:
        """Declare a message from field specs."""
        declared = Message(self._full(name))
        _MESSAGES[declared.full_name] = declared
        self._pending.append((declared, list(specs)))
        self.resolve()
        return declared

    def resolve(self) -> None:
        """Turn pending field specs into fields (types may be declared later)."""
        for message, specs in self._pending:
            while specs:
                spec = specs[0]
                parsed = self._parse(spec)
                if parsed is None:
                    break  # refers to a type not declared yet
                message.add(parsed)
                specs.pop(0)
        self._pending = [(m, s) for m, s in self._pending if s]

    def _parse(self, spec: str) -> Field | None:
        words = spec.split()
        name, type_word, flags = words[0], words[1], words[2:]
        repeated = type_word.endswith("[]")
        type_word = type_word.removesuffix("[]")
        oneof = next((f.split("=", 1)[1] for f in flags if f.startswith("oneof=")), None)
        proto_name = _CAMEL_BOUNDARY.sub("_", name).lower()
        output_only = "ro" in flags
        kind, type_name = type_word, None
        if type_word not in _SCALARS:
            full = self._full(type_word)
            if full in _ENUMS:
                kind, type_name = "enum", full
            elif full in _MESSAGES:
                kind, type_name = "message", full
            else:
                return None  # refers to a type not declared yet
        return Field(name, proto_name, kind, type_name, repeated, output_only, oneof)

    def check_complete(self) -> None:
        """Fail loudly if a field refers to a type never declared (a bug in a schema)."""
        self.resolve()
        if self._pending:
            missing = {m.full_name: s for m, s in self._pending}
            raise RuntimeError(f"unresolved field types: {missing}")


# --- reading requests ------------------------------------------------------------------


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _invalid(path: str, label: str, value: Any) -> ApiError:
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    message = f"Invalid value at '{path}' ({label}), {shown}"
    return ApiError(
        "INVALID_ARGUMENT",
        f"Invalid JSON payload received. {message}",
        details=[field_violation(path, message)],
    )


def _payload_error(message: str, path: str) -> ApiError:
    return ApiError(
        "INVALID_ARGUMENT",
        f"Invalid JSON payload received. {message}",
        details=[field_violation(path, message)] if path else None,
    )


def normalize(
    value: Any, message: Message, path: str = "", *, keep_output_only: bool = False
) -> dict[str, Any]:
    """Read a JSON object as ``message``; return it with camelCase keys and canonical values.

    ``path`` is the proto path of ``value`` from the request root (e.g.
    ``"tuned_model"`` for a create body) and prefixes every error.
    Output-only fields are checked and then dropped unless
    ``keep_output_only``.  Raises :class:`ApiError` (400) on the first problem.
    """
    if not isinstance(value, dict):
        raise _invalid(path or "", type_url(message.full_name), value)
    result: dict[str, Any] = {}
    seen: set[str] = set()
    oneofs: dict[str, str] = {}
    for key, item in value.items():
        f = message.find(key)
        if f is None:
            where = f" at '{path}'" if path else ""
            raise _payload_error(f'Unknown name "{key}"{where}: Cannot find field.', path)
        # camelCase and snake_case spellings of one field in one object: refused
        # rather than letting the last one silently win.
        if f.name in seen:
            raise _payload_error(
                f'Duplicate value for field "{f.proto_name}"' + (f" at '{path}'." if path else "."), path
            )
        seen.add(f.name)
        if item is None:
            continue  # proto3 JSON: null means "not set"
        if f.oneof is not None:
            other = oneofs.get(f.oneof)
            if other is not None:
                raise _payload_error(
                    f"Oneof field '{f.oneof}' is already set. Cannot set '{f.name}'"
                    + (f" at '{path}'." if path else "."),
                    path,
                )
            oneofs[f.oneof] = f.name
        field_path = _child(path, f.proto_name)
        if f.repeated:
            if not isinstance(item, list):
                raise _invalid(field_path, _label(f), item)
            converted: Any = [
                _value(element, f, f"{field_path}[{i}]", keep_output_only) for i, element in enumerate(item)
            ]
        else:
            if isinstance(item, list):
                raise _payload_error(
                    f'Unknown name "{key}"'
                    + (f" at '{path}'" if path else "")
                    + ": Proto field is not repeating, cannot start list.",
                    field_path,
                )
            converted = _value(item, f, field_path, keep_output_only)
        if f.output_only and not keep_output_only:
            continue
        result[f.name] = converted
    return result


def _label(f: Field) -> str:
    if f.kind in ("enum", "message"):
        return type_url(f.type_name or "")
    return _SCALARS[f.kind]


def _value(item: Any, f: Field, path: str, keep_output_only: bool) -> Any:
    kind = f.kind
    if item is None:
        raise _invalid(path, _label(f), item)
    if kind == "message":
        return normalize(item, _MESSAGES[f.type_name or ""], path, keep_output_only=keep_output_only)
    if kind == "enum":
        return _enum(item, _ENUMS[f.type_name or ""], path)
    if kind == "string":
        if not isinstance(item, str):
            raise _invalid(path, _label(f), item)
        return item
    if kind == "bool":
        if not isinstance(item, bool):
            raise _invalid(path, _label(f), item)
        return item
    if kind in _INT_RANGES:
        return _integer(item, kind, path)
    if kind in ("float", "double"):
        return _float(item, kind, path)
    if kind == "bytes":
        if not isinstance(item, str) or not _is_base64(item):
            raise _invalid(path, _label(f), item)
        return item
    if kind == "timestamp":
        if not isinstance(item, str):
            raise _invalid(path, _label(f), item)
        try:
            parse_timestamp(item)
        except ValueError:
            raise _invalid(path, _label(f), item) from None
        return item
    if kind == "duration":
        if not isinstance(item, str) or not _DURATION.match(item):
            raise _invalid(path, _label(f), item)
        return item
    return item  # "json" / "any": taken as is


def _enum(item: Any, enum: Enum, path: str) -> str:
    label = type_url(enum.full_name)
    if isinstance(item, bool):
        raise _invalid(path, label, item)
    if isinstance(item, str):
        if item in enum.values:
            return item
        if re.fullmatch(r"-?\d+", item):
            item = int(item)
        else:
            raise _invalid(path, label, item)
    if isinstance(item, int):
        name = enum.name_of(item)
        if name is None:
            raise _invalid(path, label, item)
        return name
    raise _invalid(path, label, item)


def _integer(item: Any, kind: str, path: str) -> int:
    label = _SCALARS[kind]
    number: int
    if isinstance(item, bool):
        raise _invalid(path, label, item)
    if isinstance(item, int):
        number = item
    elif isinstance(item, float):
        if not item.is_integer():
            raise _invalid(path, label, item)
        number = int(item)
    elif isinstance(item, str) and re.fullmatch(r"\s*-?\d+\s*", item):
        number = int(item)
    else:
        raise _invalid(path, label, item)
    low, high = _INT_RANGES[kind]
    if not low <= number <= high:
        raise _invalid(path, label, item)
    return number


def _float(item: Any, kind: str, path: str) -> float:
    label = _SCALARS[kind]
    if isinstance(item, bool):
        raise _invalid(path, label, item)
    if isinstance(item, (int, float)):
        number = float(item)
    elif isinstance(item, str):
        if item in _FLOAT_WORDS:
            return _FLOAT_WORDS[item]
        try:
            number = float(item)
        except ValueError:
            raise _invalid(path, label, item) from None
        if not math.isfinite(number):
            raise _invalid(path, label, item)
    else:
        raise _invalid(path, label, item)
    if kind == "float" and math.isfinite(number) and abs(number) > 3.4028234663852886e38:
        raise _invalid(path, label, item)
    return number


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


# --- writing replies -------------------------------------------------------------------


def render(value: Mapping[str, Any], message: Message, *, enum_int: bool = False) -> dict[str, Any]:
    """Write a normalized object as proto3 JSON.

    Enums become numbers when ``enum_int`` (the ``enum-encoding=int``
    system parameter); 64-bit integers are always strings; non-finite
    floats use proto3's words; Any fields are written through their
    ``@type``.  Keys the schema does not know are copied unchanged.
    """
    result: dict[str, Any] = {}
    for key, item in value.items():
        f = message.fields.get(key)
        if f is None or item is None:
            if item is not None:
                result[key] = item
            continue
        if f.repeated and isinstance(item, list):
            result[key] = [_render_value(element, f, enum_int) for element in item]
        else:
            result[key] = _render_value(item, f, enum_int)
    return result


def _render_value(item: Any, f: Field, enum_int: bool) -> Any:
    if f.kind == "message" and isinstance(item, Mapping):
        return render(item, _MESSAGES[f.type_name or ""], enum_int=enum_int)
    if f.kind == "enum":
        if enum_int and isinstance(item, str):
            return _ENUMS[f.type_name or ""].values.get(item, item)
        return item
    if f.kind in ("int64", "uint64") and isinstance(item, int) and not isinstance(item, bool):
        return str(item)
    if f.kind in ("float", "double") and isinstance(item, float) and not math.isfinite(item):
        return "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
    if f.kind == "any" and isinstance(item, Mapping):
        return render_any(item, enum_int=enum_int)
    return item


def render_any(item: Mapping[str, Any], *, enum_int: bool = False) -> dict[str, Any]:
    """Write a ``google.protobuf.Any`` object through the message its ``@type`` names."""
    url = item.get("@type")
    if not isinstance(url, str):
        return dict(item)
    message = _MESSAGES.get(url.rsplit("/", 1)[-1])
    if message is None:
        return dict(item)
    rest = {k: v for k, v in item.items() if k != "@type"}
    return {"@type": url, **render(rest, message, enum_int=enum_int)}
