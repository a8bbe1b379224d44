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

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuneport_emulator.esf_json import RepeatedKeyObject
from tuneport_emulator.proto_values import (
    INT_RANGES,
    Refused,
    duration_from_parts,
    shown,
    timestamp_from_parts,
    to_bool,
    to_bytes,
    to_duration,
    to_enum,
    to_float,
    to_int,
    to_string,
    to_timestamp,
)
from tuneport_emulator.wire import violations_error

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

    #: Spelling (either) -> (field name, oneof), of the fields a JSON string is stored in as is.
    _plain_strings: dict[str, tuple[str, str | None]] | None = field(default=None, repr=False, compare=False)

    def add(self, f: Field) -> None:
        self.fields[f.name] = f
        self.by_proto[f.proto_name] = f
        self._plain_strings = None

    def plain_strings(self) -> dict[str, tuple[str, str | None]]:
        """Either spelling of each singular string field a client may set: (its name, its oneof)."""
        if self._plain_strings is None:
            self._plain_strings = {
                spelling: (f.name, f.oneof)
                for f in self.fields.values()
                if f.kind == "string" and not f.repeated and not f.output_only
                for spelling in (f.name, f.proto_name)
            }
        return self._plain_strings

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

#: At most this many problems are reported for one body (the emulator's bound).
MAX_VIOLATIONS = 100
#: Kinds that a JSON object may be given for (the others are "scalar fields").
_OBJECT_KINDS = frozenset({"message", "json", "any", "timestamp", "duration"})
_INVALID = object()  # a value that was refused (and reported)
_WELL_KNOWN = Schema("google.protobuf")
_SECONDS_NANOS = {
    "timestamp": _WELL_KNOWN.message("Timestamp", "seconds int64", "nanos int32"),
    "duration": _WELL_KNOWN.message("Duration", "seconds int64", "nanos int32"),
}
_END = object()


def normalize(
    value: Any, message: Message, path: str = "", *, keep_output_only: bool = False
) -> dict[str, Any]:
    """Read a JSON object as ``message``, as ESF's converter does; return it normalized.

    ``path`` is the proto path of ``value`` from the request root (e.g.
    ``"tuned_model"`` for a create body) and prefixes every error.  Keys
    may be camelCase or snake_case; a single value stands for a one-item
    list; a repeated key merges into what came before.  Output-only fields
    are checked and then dropped unless ``keep_output_only``.  Every problem
    is collected (unknown names, values that do not convert, a second member
    of a oneof…) and raised as one 400 with a ``BadRequest`` violation each.
    """
    reader = _Reader(keep_output_only)
    if value is None:
        return {}
    if not isinstance(value, dict):
        reader.invalid_value(path, type_url(message.full_name), shown(value))
        raise violations_error(reader.violations)
    result = reader.message(value, message, path)
    if reader.violations:
        raise violations_error(reader.violations)
    return result


class _Reader:
    """Walks one body, converting values and collecting every problem in document order."""

    def __init__(self, keep_output_only: bool) -> None:
        self.keep_output_only = keep_output_only
        self.violations: list[tuple[str, str]] = []

    def report(self, field: str, description: str) -> None:
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append((field, description))

    def unknown_name(self, key: str, path: str, why: str) -> None:
        # ProtoWriter::InvalidName, reported at the object that holds the key.
        where = f" at '{path}'" if path else ""
        self.report(path, f'Invalid JSON payload received. Unknown name "{key}"{where}: {why}')

    def invalid_value(self, path: str, label: str, text: str) -> None:
        # ProtoWriter::InvalidValue.
        self.report(path, f"Invalid value at '{path}' ({label}), {text}")

    def message(self, value: dict[str, Any], message: Message, path: str) -> dict[str, Any]:
        if type(value) is dict:  # a RepeatedKeyObject takes the general walk
            plain = _plain_strings_only(value, message.plain_strings())
            if plain is not None:
                return plain
        return self.walk(value, message, path)

    def walk(self, value: dict[str, Any], message: Message, path: str) -> dict[str, Any]:
        """:meth:`message`'s general walk: every field, every check."""
        result: dict[str, Any] = {}
        oneofs_set: set[str] = set()
        fields, by_proto = message.fields, message.by_proto
        pairs = value.pairs if isinstance(value, RepeatedKeyObject) else value.items()
        for key, item in pairs:
            f = fields.get(key) or by_proto.get(key)
            if f is None:
                self.unknown_name(key, path, "Cannot find field.")
                continue
            if item is None:
                continue  # proto3 JSON: null means "not set"
            kind = f.kind
            if isinstance(item, list) and not f.repeated and kind != "json":
                self.unknown_name(key, path, "Proto field is not repeating, cannot start list.")
                continue
            if isinstance(item, dict) and kind not in _OBJECT_KINDS:
                self.invalid_value(path, f.proto_name, "Starting an object on a scalar field")
                continue
            if f.oneof is not None:
                if f.oneof in oneofs_set:
                    self.invalid_value(
                        path, "oneof", f"oneof field '{f.oneof}' is already set. Cannot set '{key}'"
                    )
                    continue
                oneofs_set.add(f.oneof)
            if kind == "string" and not f.repeated and isinstance(item, str):
                converted: Any = item  # what to_string() returns, without building the path it needs not
            else:
                field_path = f"{path}.{f.proto_name}" if path else f.proto_name
                converted = (
                    self.repeated(item, f, field_path, key)
                    if f.repeated
                    else self.value(item, f, field_path, key)
                )
                if converted is _INVALID:
                    continue
            if f.output_only and not self.keep_output_only:
                continue
            if f.name in result:
                _store(result, f, converted)
            else:
                result[f.name] = converted
        return result

    def repeated(self, item: Any, f: Field, path: str, key: str) -> list[Any]:
        if not isinstance(item, list):  # a single value is a one-item list
            converted = self.value(item, f, path, key)
            return [] if converted is _INVALID else [converted]
        if f.kind == "json":
            return list(item)
        result: list[Any] = []
        objects = f.kind in _OBJECT_KINDS
        inner = _MESSAGES[f.type_name or ""] if f.kind == "message" else None
        # The converter's element index counts objects and refused values, not
        # scalars it accepted (proto3 pushes no element for those).
        index = 0
        pending = [iter(item)]
        while pending:
            element = next(pending[-1], _END)
            if element is _END:
                pending.pop()
            elif element is None:
                continue
            elif isinstance(element, list):
                pending.append(iter(element))  # a nested list continues the same field
            elif isinstance(element, dict) and not objects:
                where = f"{path}[{index - 1}]" if index else path
                self.invalid_value(where, f.proto_name, "Starting an object on a scalar field")
            elif objects:
                index += 1
                if inner is not None and isinstance(element, dict):
                    # What value() does for a message, one call less (and no path unless needed).
                    plain = None
                    if type(element) is dict:
                        plain = _plain_strings_only(element, inner.plain_strings())
                    if plain is None:
                        plain = self.walk(element, inner, f"{path}[{index - 1}]")
                    result.append(plain)
                    continue
                converted = self.value(element, f, f"{path}[{index - 1}]", key)
                if converted is not _INVALID:
                    result.append(converted)
            else:
                converted = self.value(element, f, f"{path}[{index}]", key)
                if converted is _INVALID:
                    index += 1
                else:
                    result.append(converted)
        return result

    def value(self, item: Any, f: Field, path: str, key: str) -> Any:
        kind = f.kind
        if kind == "message":
            inner = _MESSAGES[f.type_name or ""]
            if isinstance(item, dict):
                return self.message(item, inner, path)
            self.invalid_value(path, type_url(inner.full_name), shown(item))
            return _INVALID
        if kind in ("json", "any"):
            return item
        try:
            if kind in _SECONDS_NANOS and isinstance(item, dict):
                # A Timestamp or Duration given as the message it is: {"seconds", "nanos"}.
                parts = self.message(item, _SECONDS_NANOS[kind], path)
                to_text = timestamp_from_parts if kind == "timestamp" else duration_from_parts
                return to_text(parts.get("seconds", 0), parts.get("nanos", 0), key)
            return _convert(item, f, key)
        except Refused as refused:
            self.invalid_value(path, _label(f), refused.text)
            return _INVALID


def _plain_strings_only(
    value: dict[str, Any], plain: dict[str, tuple[str, str | None]]
) -> dict[str, Any] | None:
    """``value`` normalized when it holds only strings for plain string fields; else None.

    What :meth:`_Reader.message` makes of an object whose keys each name a
    different singular string field (at most one of each oneof) and whose
    values are strings, without its general walk: the elements of a
    repeated message, such as examples, are often of this kind.
    """
    result: dict[str, Any] = {}
    oneofs: set[str] | None = None
    for key, item in value.items():
        found = plain.get(key)
        if found is None or not isinstance(item, str):
            return None
        name, oneof = found
        if name in result:
            return None
        if oneof is not None:
            if oneofs is None:
                oneofs = set()
            elif oneof in oneofs:
                return None
            oneofs.add(oneof)
        result[name] = item
    return result


def _convert(item: Any, f: Field, key: str) -> Any:
    kind = f.kind
    if kind == "enum":
        return to_enum(item, _ENUMS[f.type_name or ""].values)
    if kind == "string":
        return to_string(item)
    if kind == "bool":
        return to_bool(item)
    if kind in INT_RANGES:
        return to_int(item, kind)
    if kind in ("float", "double"):
        return to_float(item, kind)
    if kind == "bytes":
        return to_bytes(item)
    if kind == "timestamp":
        return to_timestamp(item, key)
    return to_duration(item, key)


def _store(result: dict[str, Any], f: Field, value: Any) -> None:
    """Set a field; a key given twice appends (repeated), merges (message) or replaces."""
    old = result.get(f.name)
    if old is None:
        result[f.name] = value
    elif f.repeated:
        result[f.name] = old + value
    elif f.kind == "message" and isinstance(old, dict) and isinstance(value, dict):
        merged = dict(old)
        inner = _MESSAGES[f.type_name or ""]
        for name, item in value.items():
            _store(merged, inner.fields[name], item)
        result[f.name] = merged
    else:
        result[f.name] = value


def _label(f: Field) -> str:
    if f.kind in ("enum", "message"):
        return type_url(f.type_name or "")
    return _SCALARS[f.kind]


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
