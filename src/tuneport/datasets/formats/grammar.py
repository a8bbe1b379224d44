"""Format grammars, stated once and compiled two ways.

Each JSON format (gemini, vertex, openai) declares its grammar once, as data,
with the nodes below: records with named fields (and the spellings Google's
frontends also accept), arrays, strings, role names, parts that hold exactly
one of several fields, tagged parts, and "a string or an array".  From that
one statement this module derives:

* :func:`compile_checker`: a checker that walks a parsed JSON value, reports
  *every* problem with its rule and field path, and builds the light example;
* :func:`compile_fast_decoder`: msgspec struct types (``msgspec.defstruct``)
  that decode and check a JSON Lines line in C, and a converter from those
  structs to the same light example.  It only ever *accepts*: a line it does
  not fully like returns ``None`` and goes to the checker, which says why.
  So it changes speed, never results (the tests run both).

What a grammar cannot say (turn order, where file parts may go) is a record's
``refine`` hook: plain code that both compiled forms run on the built value,
reporting through a callback (in the fast decoder, a report means "decline").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Union

from tuneport.datasets.problems import ProblemLog, Rule

__all__ = [
    "INVALID",
    "Array",
    "Choice",
    "Field",
    "Node",
    "OneOf",
    "Record",
    "Report",
    "StringOrArray",
    "Tagged",
    "Text",
    "TextKind",
    "compile_checker",
    "compile_fast_decoder",
    "kind_of",
]


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


#: A value with errors (already reported).
INVALID: Final = _Invalid()

#: Reports a problem at a path relative to the node: ``report(relative_path, rule, message)``.
Report = Callable[[str, Rule, str], None]
#: A node's location: ``None`` at the root, else ``(parent location, key or index)``; made a
#: string only when a problem is reported, so a valid line formats no paths.
Where = Union[tuple[Any, Union[str, int]], None]


class TextKind:
    """What an empty or whitespace-only string is, for :class:`Text`."""

    #: Empty is ``empty-text`` (an error), whitespace-only ``blank-text`` (a warning).
    TEXT = "text"
    #: Empty or whitespace-only is ``empty-uri``.
    URI = "uri"
    #: Empty is the field's ``missing-field``.
    LABEL = "label"
    #: Any string.
    ANY = "any"


@dataclass(frozen=True)
class Text:
    """A JSON string."""

    kind: str = TextKind.TEXT
    #: The ``empty-uri`` message (kind ``URI``) or the ``missing-field`` one (kind ``LABEL``).
    empty_message: str = "the file URI is empty"
    what: str = "a string"


@dataclass(frozen=True)
class Choice:
    """A string from a fixed set (a role), mapped to its neutral value; others are ``bad-role``."""

    values: Mapping[str, Any]
    #: ``{value!r}`` is the value found.
    message: str
    #: Extra words for some wrong values (``" (put system text in ...)"``).
    hints: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Field:
    """A field of a record: its written name, other accepted spellings, and its grammar."""

    name: str
    node: Node
    #: The ``missing-field`` message; ``None``: the field is optional.
    required: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Record:
    """A JSON object with named fields; *build* makes the light value from the fields' values."""

    fields: tuple[Field, ...]
    build: Callable[..., Any]
    #: For ``bad-type``: "expected {what}, got ...".
    what: str = "an object"
    #: The ``unknown-field`` message (``{key}`` is the field).
    unknown: str = "unknown field '{key}'"
    #: Fields the format defines but tuneport cannot hold: ``unsupported-field``.
    unsupported: frozenset[str] = frozenset()
    unsupported_message: str = "'{key}' is not supported in tuneport's datasets"
    #: Checks beyond the grammar, on the built value: returns it (or :data:`INVALID` after reporting).
    refine: Callable[[Any, Report], Any] | None = None
    #: Written as ``{tag_field: tag}`` when the record is a variant of :class:`Tagged`.
    tag: str | None = None


@dataclass(frozen=True)
class OneOf:
    """A JSON object holding exactly one of *fields* (a Vertex part: ``text`` or ``fileData``).

    Its value is the value of that one field.  An unsupported field counts
    as one of them (so ``{"text", "inlineData"}`` is a duplicate as well).
    """

    fields: tuple[Field, ...]
    missing: str
    duplicate: str
    what: str = "an object"
    unknown: str = "unknown field '{key}'"
    unsupported: frozenset[str] = frozenset()
    unsupported_message: str = "'{key}' is not supported"


@dataclass(frozen=True)
class Tagged:
    """A JSON object whose ``tag_field`` names which record it is (an OpenAI content part)."""

    variants: tuple[Record, ...]
    missing: str
    unsupported_message: str
    tag_field: str = "type"
    what: str = "an object"


@dataclass(frozen=True)
class Array:
    """A JSON array of *item*; invalid items are dropped unless *keep_invalid*."""

    item: Node
    what: str
    #: ``(rule, message)`` for an empty array (``None``: empty is fine here).
    empty: tuple[Rule, str] | None = None
    #: Keep :data:`INVALID` items in place (so a refine hook sees indices and gaps).
    keep_invalid: bool = False


@dataclass(frozen=True)
class StringOrArray:
    """A string (its :class:`Text`) or an array: OpenAI ``content``."""

    text: Text
    array: Array
    what: str
    #: The light value of a string: by default the string as a one-part tuple.
    text_build: Callable[[str], Any] = lambda text: (text,)


Node = Union[Text, Choice, Record, OneOf, Tagged, Array, StringOrArray]


def kind_of(value: Any) -> str:
    """A JSON type name for messages ("an object", "a string", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def render(where: Where) -> str | None:
    """The JSON path of a location (``contents[1].parts[0].text``)."""
    keys: list[str | int] = []
    while where is not None:
        where, key = where
        keys.append(key)
    out = ""
    for key in reversed(keys):
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += f".{key}" if out else key
    return out or None


def _join(where: Where, relative: str) -> str | None:
    base = render(where)
    if not relative:
        return base
    if base is None:
        return relative
    return base + relative if relative.startswith("[") else f"{base}.{relative}"


# --- the checker ---------------------------------------------------------------------------

#: ``check(value, where, line, log)``: the light value, or INVALID after reporting.
Check = Callable[[Any, Where, int, ProblemLog], Any]


def compile_checker(node: Node) -> Callable[[Any, int, ProblemLog], Any]:
    """The checker of a grammar: ``check(value, line, log)`` → light value or :data:`INVALID`."""
    check = _checker(node)

    def check_root(value: Any, line: int, log: ProblemLog) -> Any:
        return check(value, None, line, log)

    return check_root


def _checker(node: Node) -> Check:
    if isinstance(node, Text):
        return _text_checker(node)
    if isinstance(node, Choice):
        return _choice_checker(node)
    if isinstance(node, Record):
        return _record_checker(node)
    if isinstance(node, OneOf):
        return _one_of_checker(node)
    if isinstance(node, Tagged):
        return _tagged_checker(node)
    if isinstance(node, Array):
        return _array_checker(node)
    return _string_or_array_checker(node)


def _bad_type(log: ProblemLog, line: int, where: Where, what: str, value: Any) -> Any:
    log.report(line, render(where), Rule.BAD_TYPE, f"expected {what}, got {kind_of(value)}")
    return INVALID


def _text_checker(node: Text) -> Check:
    kind, what = node.kind, node.what

    def check(value: Any, where: Where, line: int, log: ProblemLog) -> Any:
        if type(value) is not str:
            return _bad_type(log, line, where, what, value)
        if kind == TextKind.TEXT:
            if not value:
                log.report(line, render(where), Rule.EMPTY_TEXT, "the text is empty")
            elif value.isspace():
                log.report(line, render(where), Rule.BLANK_TEXT, "the text is only whitespace")
        elif kind == TextKind.URI and not value.strip():
            log.report(line, render(where), Rule.EMPTY_URI, node.empty_message)
            return INVALID
        elif kind == TextKind.LABEL and not value:
            log.report(line, render(where), Rule.MISSING_FIELD, node.empty_message)
            return INVALID
        return value

    return check


def _choice_checker(node: Choice) -> Check:
    values, message, hints = node.values, node.message, node.hints

    def check(value: Any, where: Where, line: int, log: ProblemLog) -> Any:
        found = values.get(value) if type(value) is str else None
        if found is None:
            hint = hints.get(value, "") if type(value) is str else ""
            log.report(line, render(where), Rule.BAD_ROLE, message.format(value=value) + hint)
            return INVALID
        return found

    return check


@dataclass(frozen=True)
class _FieldPlan:
    name: str
    spellings: tuple[str, ...]
    required: str | None
    check: Check


def _field_plans(fields: tuple[Field, ...]) -> tuple[_FieldPlan, ...]:
    return tuple(_FieldPlan(f.name, (f.name, *f.aliases), f.required, _checker(f.node)) for f in fields)


def _reporter(log: ProblemLog, line: int, where: Where) -> Report:
    def report(relative: str, rule: Rule, message: str) -> None:
        log.report(line, _join(where, relative), rule, message)

    return report


def _record_checker(node: Record) -> Check:
    plans = _field_plans(node.fields)
    # Objects with only the written names skip the per-key pass (a C-speed subset test).
    written = frozenset(p.name for p in plans)
    spelling_of = {s: p.name for p in plans for s in p.spellings}
    build, refine, what = node.build, node.refine, node.what
    unknown, unsupported, unsupported_message = node.unknown, node.unsupported, node.unsupported_message

    def key_pass(value: dict[str, Any], where: Where, line: int, log: ProblemLog) -> dict[str, str]:
        """Report unknown, unsupported and doubly spelled fields; the spelling used of each field."""
        used: dict[str, str] = {}
        for key in value:
            name = spelling_of.get(key)
            if name is not None:
                first = used.get(name)
                if first is not None:
                    log.report(
                        line,
                        render((where, key)),
                        Rule.DUPLICATE_FIELD,
                        f"both '{first}' and '{key}' are given; keep one",
                    )
                used[name] = key
            elif key in unsupported:
                log.report(
                    line, render((where, key)), Rule.UNSUPPORTED_FIELD, unsupported_message.format(key=key)
                )
            else:
                log.report(line, render((where, key)), Rule.UNKNOWN_FIELD, unknown.format(key=key))
        return used

    def check(value: Any, where: Where, line: int, log: ProblemLog) -> Any:
        if type(value) is not dict:
            return _bad_type(log, line, where, what, value)
        used: Mapping[str, str] | None = None
        if not value.keys() <= written:
            used = key_pass(value, where, line, log)
        values: list[Any] = []
        ok = True
        for plan in plans:
            key = plan.name if used is None else used.get(plan.name, plan.name)
            if key in value:
                item = plan.check(value[key], (where, key), line, log)
                if item is INVALID:
                    ok = False
                values.append(item)
            elif plan.required is not None:
                log.report(line, render((where, key)), Rule.MISSING_FIELD, plan.required)
                ok = False
            else:
                values.append(None)
        if not ok:
            return INVALID
        built = build(*values)
        if refine is not None:
            return refine(built, _reporter(log, line, where))
        return built

    return check


def _one_of_checker(node: OneOf) -> Check:
    plans = _field_plans(node.fields)
    by_spelling = {s: p for p in plans for s in p.spellings}
    unsupported, what = node.unsupported, node.what
    first_name = plans[0].name

    def check(value: Any, where: Where, line: int, log: ProblemLog) -> Any:
        if type(value) is not dict:
            return _bad_type(log, line, where, what, value)
        result: Any = INVALID
        kinds = 0
        for key, item in value.items():
            plan = by_spelling.get(key)
            if plan is not None:
                kinds += 1
                result = plan.check(item, (where, key), line, log)
            elif key in unsupported:
                kinds += 1
                log.report(
                    line,
                    render((where, key)),
                    Rule.UNSUPPORTED_FIELD,
                    node.unsupported_message.format(key=key),
                )
            else:
                log.report(line, render((where, key)), Rule.UNKNOWN_FIELD, node.unknown.format(key=key))
        if kinds == 0:
            log.report(line, render((where, first_name)), Rule.MISSING_FIELD, node.missing)
            return INVALID
        if kinds > 1:
            log.report(line, render(where), Rule.DUPLICATE_FIELD, node.duplicate)
            return INVALID
        return result

    return check


def _tagged_checker(node: Tagged) -> Check:
    tag_field = node.tag_field
    variants = {v.tag: _record_checker(_with_tag_field(v, tag_field)) for v in node.variants}

    def check(value: Any, where: Where, line: int, log: ProblemLog) -> Any:
        if type(value) is not dict:
            return _bad_type(log, line, where, node.what, value)
        tag = value.get(tag_field)
        variant = variants.get(tag) if type(tag) is str else None
        if variant is not None:
            return variant(value, where, line, log)
        if tag is None:
            log.report(line, render((where, tag_field)), Rule.MISSING_FIELD, node.missing)
        else:
            log.report(
                line,
                render((where, tag_field)),
                Rule.UNSUPPORTED_FIELD,
                node.unsupported_message.format(tag=tag),
            )
        return INVALID

    return check


def _with_tag_field(record: Record, tag_field: str) -> Record:
    """The variant with its tag as a leading field (any string: the tag was matched already)."""
    build = record.build
    fields = (Field(tag_field, Text(TextKind.ANY)), *record.fields)
    return Record(
        fields=fields,
        build=lambda _tag, *values: build(*values),
        what=record.what,
        unknown=record.unknown,
        unsupported=record.unsupported,
        unsupported_message=record.unsupported_message,
        refine=record.refine,
    )


def _array_checker(node: Array) -> Check:
    item_check = _checker(node.item)
    what, empty, keep_invalid = node.what, node.empty, node.keep_invalid

    def check(value: Any, where: Where, line: int, log: ProblemLog) -> Any:
        if type(value) is not list:
            return _bad_type(log, line, where, what, value)
        if not value and empty is not None:
            log.report(line, render(where), *empty)
            return ()
        out = [item_check(item, (where, i), line, log) for i, item in enumerate(value)]
        if keep_invalid:
            return tuple(out)
        return tuple(item for item in out if item is not INVALID)

    return check


def _string_or_array_checker(node: StringOrArray) -> Check:
    text_check, array_check, text_build = (
        _text_checker(node.text),
        _array_checker(node.array),
        node.text_build,
    )
    what = node.what

    def check(value: Any, where: Where, line: int, log: ProblemLog) -> Any:
        if type(value) is str:
            text = text_check(value, where, line, log)
            return INVALID if text is INVALID else text_build(text)
        if type(value) is list:
            return array_check(value, where, line, log)
        return _bad_type(log, line, where, what, value)

    return check


# --- the fast decoder ------------------------------------------------------------------------


class _Decline(Exception):
    """The fast decoder does not accept this line (the checker will say why, if anything)."""


def _decline(relative: str, rule: Rule, message: str) -> None:
    raise _Decline


#: ``convert(decoded struct value)`` → light value; raises _Decline.
Convert = Callable[[Any], Any]
FastDecoder = Callable[[bytes], Any]


def compile_fast_decoder(node: Record, msgspec: Any) -> FastDecoder:
    """A decoder of JSON lines of *node*'s grammar with msgspec: the light value, or ``None``.

    ``None`` means "not accepted here": a line with any problem (error or
    warning) or anything unusual (another spelling of a field) is left to the
    checker.  Struct types are built once per grammar and msgspec module.
    """
    return _fast_decoder(node, msgspec)


# Keyed by identity: grammars are module constants, and their hooks make them unhashable.
_FAST_DECODERS: dict[tuple[int, int], tuple[Record, FastDecoder]] = {}


def _fast_decoder(node: Record, msgspec: Any) -> FastDecoder:
    cached = _FAST_DECODERS.get((id(node), id(msgspec)))
    if cached is not None and cached[0] is node:
        return cached[1]
    names = (f"Struct{n}" for n in itertools.count())
    struct_type, convert = _fast(node, msgspec, names)
    decode = msgspec.json.Decoder(struct_type).decode
    decode_error = msgspec.DecodeError

    def fast(raw: bytes) -> Any:
        try:
            return convert(decode(raw))
        except (decode_error, _Decline):
            return None

    _FAST_DECODERS[id(node), id(msgspec)] = (node, fast)
    return fast


def _fast(node: Node, msgspec: Any, names: Any) -> tuple[Any, Convert]:
    """The msgspec type of *node* and the converter of its decoded values."""
    from typing import Annotated, Literal

    non_empty = Annotated[str, msgspec.Meta(min_length=1)]
    if isinstance(node, Text):
        return _fast_text(node, non_empty, str)
    if isinstance(node, Choice):
        values = node.values
        return Literal[tuple(values)], values.__getitem__
    if isinstance(node, Array):
        item_type, item_convert = _fast(node.item, msgspec, names)
        array_type: Any = list[item_type]  # type: ignore[valid-type]
        if node.empty is not None:
            array_type = Annotated[array_type, msgspec.Meta(min_length=1)]
        return array_type, _fast_array(item_convert)
    if isinstance(node, StringOrArray):
        text_type, text_convert = _fast_text(node.text, non_empty, str)
        array_type, array_convert = _fast(node.array, msgspec, names)
        text_build = node.text_build

        def convert_either(value: Any) -> Any:
            if type(value) is str:
                return text_build(text_convert(value))
            return array_convert(value)

        return Union[text_type, array_type], convert_either
    if isinstance(node, Tagged):
        converters: dict[type, Convert] = {}
        types = []
        for variant in node.variants:
            variant_type, variant_convert = _fast_record(variant, msgspec, names, tag_field=node.tag_field)
            converters[variant_type] = variant_convert
            types.append(variant_type)

        def convert_tagged(value: Any) -> Any:
            return converters[type(value)](value)

        return Union[tuple(types)], convert_tagged
    if isinstance(node, OneOf):
        return _fast_one_of(node, msgspec, names)
    return _fast_record(node, msgspec, names)


def _fast_text(node: Text, non_empty: Any, any_str: Any) -> tuple[Any, Convert]:
    if node.kind == TextKind.ANY:
        return any_str, _identity
    if node.kind == TextKind.LABEL:
        return non_empty, _identity
    # Whitespace-only text is a warning (text) or an error (URI): the checker reports it.
    return non_empty, _not_blank


def _identity(value: Any) -> Any:
    return value


def _not_blank(value: str) -> str:
    if value.isspace():
        raise _Decline
    return value


def _fast_array(item_convert: Convert) -> Convert:
    if item_convert is _identity:
        return tuple
    return lambda items: tuple([item_convert(item) for item in items])


def _fast_record(
    node: Record, msgspec: Any, names: Any, *, tag_field: str | None = None
) -> tuple[Any, Convert]:
    struct_fields: list[Any] = []
    converters: list[Convert] = []
    optional: list[bool] = []
    for f in node.fields:
        field_type, field_convert = _fast(f.node, msgspec, names)
        if f.required is None:
            struct_fields.append((f.name, Union[field_type, msgspec.UnsetType], msgspec.UNSET))
        else:
            struct_fields.append((f.name, field_type))
        converters.append(field_convert)
        optional.append(f.required is None)
    # Required fields first: a struct's fields with defaults must come last.
    order = sorted(range(len(struct_fields)), key=lambda i: optional[i])
    extra: dict[str, Any] = {}
    if tag_field is not None:
        extra = {"tag_field": tag_field, "tag": node.tag}
    struct_type = msgspec.defstruct(
        next(names),
        [struct_fields[i] for i in order],
        forbid_unknown_fields=True,
        gc=False,
        **extra,
    )
    attributes = tuple(f.name for f in node.fields)
    unset = msgspec.UNSET
    build, refine = node.build, node.refine
    plan = tuple(zip(attributes, converters, optional, strict=True))

    def convert(value: Any) -> Any:
        values: list[Any] = []
        for attribute, field_convert, is_optional in plan:
            item = getattr(value, attribute)
            if is_optional and item is unset:
                values.append(None)
            else:
                values.append(field_convert(item))
        built = build(*values)
        if refine is not None:
            built = refine(built, _decline)
        return built

    return struct_type, convert


def _fast_one_of(node: OneOf, msgspec: Any, names: Any) -> tuple[Any, Convert]:
    struct_fields: list[Any] = []
    plan: list[tuple[str, Convert]] = []
    for f in node.fields:
        field_type, field_convert = _fast(f.node, msgspec, names)
        struct_fields.append((f.name, Union[field_type, msgspec.UnsetType], msgspec.UNSET))
        plan.append((f.name, field_convert))
    struct_type = msgspec.defstruct(next(names), struct_fields, forbid_unknown_fields=True, gc=False)
    unset = msgspec.UNSET

    def convert(value: Any) -> Any:
        found: Any = unset
        found_convert: Convert = _identity
        for attribute, field_convert in plan:
            item = getattr(value, attribute)
            if item is not unset:
                if found is not unset:
                    raise _Decline
                found, found_convert = item, field_convert
        if found is unset:
            raise _Decline
        return found_convert(found)

    return struct_type, convert
