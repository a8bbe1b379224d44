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

Rules about a record's fields taken together are stated as data too, in its
``checks``: :class:`Alternating` (turns go user, model, ..., model) and
:class:`TextOnly` (an array holds text parts only).  The checker runs their
generic form (reporting every problem); the fast paths get them as
generated code, inline (msgspec types even drop file parts from a text-only
array, so C rejects them).  What is left is a record's ``refine`` hook:
plain code that both compiled forms run on the built value, reporting through
a callback (in the fast decoder, a report means "decline").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Union

from tuneport.datasets.light import MODEL, USER, FileRef, LightTurn
from tuneport.datasets.problems import ProblemLog, Rule

__all__ = [
    "INVALID",
    "Alternating",
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
    "TextOnly",
    "check_role_order",
    "compile_checker",
    "compile_acceptor",
    "compile_fast_decoder",
    "kind_of",
    "roles_alternate",
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
    """A value from a fixed set (a role), mapped to its neutral value; others are *rule* (``bad-role``).

    The values are strings, or numbers (Vertex's completion ``score``: ``0``
    or ``1``; ``1.0`` is the same number) or booleans, as *kinds* says.
    """

    values: Mapping[Any, Any]
    #: ``{value!r}`` is the value found.
    message: str
    #: Extra words for some wrong values (``" (put system text in ...)"``).
    hints: Mapping[str, str] = field(default_factory=dict)
    rule: Rule = Rule.BAD_ROLE
    #: The JSON types of the values: strings, or ``(int, float)`` for numbers, or ``(bool,)``.
    kinds: tuple[type, ...] = (str,)


@dataclass(frozen=True)
class Field:
    """A field of a record: its written name, other accepted spellings, and its grammar."""

    name: str
    node: Node
    #: The ``missing-field`` message; ``None``: the field is optional.
    required: str | None = None
    aliases: tuple[str, ...] = ()
    #: The value of an optional field that is absent.
    default: Any = None


@dataclass(frozen=True)
class TextOnly:
    """A record check: field *field* (an array of parts, text or file) holds text parts only.

    Each file part is ``file-part-not-allowed`` with *message*.
    """

    field: str
    message: str


@dataclass(frozen=True)
class Alternating:
    """A record check: the turns in field *field* alternate user/model, from a user turn to a model turn.

    The turns are ``(role, ...)`` values with the :data:`USER`/:data:`MODEL`
    roles; the first place they stop alternating is ``role-order``.  An
    invalid turn (reported already) makes the record invalid, unreported.
    """

    field: str


RecordCheck = Union[TextOnly, Alternating]


@dataclass(frozen=True)
class Record:
    """A JSON object with named fields; *build* makes the light value from the fields' values."""

    fields: tuple[Field, ...]
    #: ``None``: the tuple of the values; a field's name: that field's value.
    build: Callable[..., Any] | str | None = None
    #: For ``bad-type``: "expected {what}, got ...".
    what: str = "an object"
    #: The ``unknown-field`` message (``{key}`` is the field).
    unknown: str = "unknown field '{key}'"
    #: Fields the format defines but tuneport cannot hold: ``unsupported-field``.
    unsupported: frozenset[str] = frozenset()
    unsupported_message: str = "'{key}' is not supported in tuneport's datasets"
    #: Rules on the fields' values together (run when every field is valid, before *refine*).
    checks: tuple[RecordCheck, ...] = ()
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


_ALTERNATION = (USER, MODEL)


def roles_alternate(turns: Sequence[LightTurn]) -> bool:
    """True when turns go user, model, user, ..., model (the one shape tuneport accepts)."""
    # Pairs of identity tests, no generator.
    count = len(turns)
    if not count or count & 1:
        return False
    for i in range(0, count, 2):  # noqa: SIM110 - a generator would cost a frame per example
        if turns[i][0] is not USER or turns[i + 1][0] is not MODEL:
            return False
    return True


def check_role_order(
    turns: Sequence[LightTurn],
    report: Report,
    turn_field: Callable[[int], str],
    role_name: Callable[[str], str],
) -> None:
    """Report the first place where turns stop alternating user/model, or a last user turn.

    Roles in *turns* must be the interned :data:`USER`/:data:`MODEL` constants.
    """
    if roles_alternate(turns) or not turns:
        return
    for i, (role, _) in enumerate(turns):
        expected = _ALTERNATION[i & 1]
        if role is not expected:
            report(
                f"{turn_field(i)}.role",
                Rule.ROLE_ORDER,
                f"expected a {role_name(expected)!r} turn, found {role_name(role)!r}: turns must "
                f"alternate {role_name(USER)}/{role_name(MODEL)}, starting with {role_name(USER)}",
            )
            return
    report(
        f"{turn_field(len(turns) - 1)}.role",
        Rule.ROLE_ORDER,
        f"the last turn must be a {role_name(MODEL)!r} turn (the answer to learn)",
    )


def _run_check(check: RecordCheck, value: Any, report: Report) -> bool:
    """Run a record check on its field's value: False after reporting (or on an invalid turn)."""
    name = check.field
    if isinstance(check, TextOnly):
        ok = True
        for j, part in enumerate(value):
            if type(part) is FileRef:
                report(f"{name}[{j}]", Rule.FILE_PART_NOT_ALLOWED, check.message)
                ok = False
        return ok
    try:
        if roles_alternate(value):
            return True
    except TypeError:  # an INVALID turn has no role: its problems were reported
        return False
    if INVALID not in value:
        check_role_order(value, report, lambda i: f"{name}[{i}]", str)
    return False


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
    values, message, hints, rule = node.values, node.message, node.hints, node.rule
    kinds = node.kinds

    def check(value: Any, where: Where, line: int, log: ProblemLog) -> Any:
        found = values.get(value) if type(value) in kinds else None
        if found is None:
            hint = hints.get(value, "") if type(value) is str else ""
            log.report(line, render(where), rule, message.format(value=value) + hint)
            return INVALID
        return found

    return check


@dataclass(frozen=True)
class _FieldPlan:
    name: str
    spellings: tuple[str, ...]
    required: str | None
    check: Check
    default: Any


def _field_plans(fields: tuple[Field, ...]) -> tuple[_FieldPlan, ...]:
    return tuple(
        _FieldPlan(f.name, (f.name, *f.aliases), f.required, _checker(f.node), f.default) for f in fields
    )


def _builder(node: Record) -> Callable[[Sequence[Any]], Any]:
    """The light value of a record from its fields' values."""
    build = node.build
    if build is None:
        return tuple
    if isinstance(build, str):
        index = [f.name for f in node.fields].index(build)
        return lambda values: values[index]
    return lambda values: build(*values)


def _reporter(log: ProblemLog, line: int, where: Where) -> Report:
    def report(relative: str, rule: Rule, message: str) -> None:
        log.report(line, _join(where, relative), rule, message)

    return report


def _record_checker(node: Record) -> Check:
    plans = _field_plans(node.fields)
    # Objects with only the written names skip the per-key pass (a C-speed subset test).
    written = frozenset(p.name for p in plans)
    spelling_of = {s: p.name for p in plans for s in p.spellings}
    refine, what = node.refine, node.what
    unknown, unsupported, unsupported_message = node.unknown, node.unsupported, node.unsupported_message
    _build = _builder(node)
    index_of = {f.name: i for i, f in enumerate(node.fields)}
    checks = [(c, index_of[c.field]) for c in node.checks]

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
                values.append(plan.default)
        if not ok:
            return INVALID
        if checks:
            report = _reporter(log, line, where)
            for check_, index in checks:
                if not _run_check(check_, values[index], report):
                    ok = False
            if not ok:
                return INVALID
        built = _build(values)
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
    inner = _builder(record)
    fields = (Field(tag_field, Text(TextKind.ANY)), *record.fields)
    return Record(
        fields=fields,
        build=lambda _tag, *values: inner(values),
        checks=record.checks,
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


# --- the fast paths -----------------------------------------------------------------------
#
# Both fast paths are generated Python source, one function per grammar, with
# every node inlined: a per-node function call would cost more than the node's
# checks (the generic checker above is for lines with problems, and may be slow).


class _Decline(Exception):
    """The fast path does not accept this value (the checker will say why, if anything)."""


def _decline(relative: str, rule: Rule, message: str) -> None:
    raise _Decline


#: ``fast(raw line)`` → the light value, or ``None``: not accepted, ask the checker.
FastDecoder = Callable[[bytes], Any]
#: ``accept(parsed JSON value)`` → the light value, or ``None``: not accepted, ask the checker.
Acceptor = Callable[[Any], Any]

_MISSING: Final = object()
# Keyed by identity: grammars are module constants, and their hooks make them unhashable.
_COMPILED: dict[tuple[int, int], tuple[Record, Callable[..., Any]]] = {}


def compile_acceptor(node: Record) -> Acceptor:
    """The pure-Python fast path of *node*: accepts a parsed value only if the checker would say nothing.

    It makes the same checks as the checker with none of its bookkeeping
    (paths, messages), and declines on anything unusual (another spelling).
    """
    cached = _COMPILED.get((id(node), 0))
    if cached is not None and cached[0] is node:
        return cached[1]
    convert = _Emitter(struct_mode=False).function(node)

    def accept(value: Any) -> Any:
        try:
            return convert(value)
        except _Decline:
            return None

    _COMPILED[id(node), 0] = (node, accept)
    return accept


def compile_fast_decoder(node: Record, msgspec: Any) -> FastDecoder:
    """The msgspec fast path of *node*: decodes one JSON line, or returns ``None`` (ask the checker).

    Struct types derived from the grammar (``msgspec.defstruct``) check the
    shape in C; generated code checks what they cannot (whitespace-only text,
    one kind per part, the refine hooks) and builds the light value.
    """
    cached = _COMPILED.get((id(node), id(msgspec)))
    if cached is not None and cached[0] is node:
        return cached[1]
    emitter = _Emitter(struct_mode=True, msgspec=msgspec)
    decode = msgspec.json.Decoder(emitter.struct_type(node)).decode  # the types first: the code tests them
    convert = emitter.function(node)
    decode_error = msgspec.DecodeError

    def fast(raw: bytes) -> Any:
        try:
            return convert(decode(raw))
        except (decode_error, _Decline):
            return None

    _COMPILED[id(node), id(msgspec)] = (node, fast)
    return fast


def _field(record: Record, name: str) -> Field:
    return next(f for f in record.fields if f.name == name)


class _Emitter:
    """Generates the converter of a grammar, for msgspec structs or for parsed JSON (dicts and lists)."""

    def __init__(self, *, struct_mode: bool, msgspec: Any = None) -> None:
        self.struct_mode = struct_mode
        self.msgspec = msgspec
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"Decline": _Decline, "decline": _decline, "MISSING": _MISSING}
        self.count = itertools.count()
        self.types: dict[int, Any] = {}
        self.derived: dict[tuple[int, str], Node] = {}
        self.names["tuple_new"] = tuple.__new__
        if msgspec is not None:
            self.names["UNSET"] = msgspec.UNSET

    def function(self, node: Record) -> Callable[[Any], Any]:
        self.lines = ["def convert(v):"]
        result = self.emit(node, "v", 1)
        self.lines.append(f"    return {result}")
        # The source is generated from the grammar above, never from data.
        exec("\n".join(self.lines), self.names)
        convert: Callable[[Any], Any] = self.names["convert"]
        return convert

    def constant(self, value: Any) -> str:
        name = f"k{next(self.count)}"
        self.names[name] = value
        return name

    def var(self) -> str:
        return f"x{next(self.count)}"

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def emit(self, node: Node, src: str, depth: int) -> str:
        """Append code checking the value in *src*; return an expression of its light value."""
        if isinstance(node, Text):
            return self.emit_text(node, src, depth)
        if isinstance(node, Choice):
            out = self.var()
            if self.struct_mode:  # msgspec checked the value is one of the choices
                self.line(depth, f"{out} = {self.constant(node.values)}[{src}]")
            else:
                # Roles (strings) keep the identity test: this runs once per turn.
                test = "is str" if node.kinds == (str,) else f"in {self.constant(node.kinds)}"
                self.line(
                    depth, f"{out} = {self.constant(node.values)}.get({src}) if type({src}) {test} else None"
                )
                self.line(depth, f"if {out} is None: raise Decline")
            return out
        if isinstance(node, Array):
            return self.emit_array(node, src, depth)
        if isinstance(node, StringOrArray):
            out = self.var()
            self.line(depth, f"if type({src}) is str:")
            text = self.emit_text(node.text, src, depth + 1)
            self.line(depth + 1, f"{out} = {self.constant(node.text_build)}({text})")
            self.line(depth, "else:")
            array = self.emit_array(node.array, src, depth + 1)
            self.line(depth + 1, f"{out} = {array}")
            return out
        if isinstance(node, Tagged):
            out = self.var()
            if not self.struct_mode:
                self.line(depth, f"if type({src}) is not dict: raise Decline")
                tag = self.var()
                self.line(depth, f"{tag} = {src}.get({node.tag_field!r})")
            keyword = "if"
            for variant in node.variants:
                if self.struct_mode:
                    self.line(depth, f"{keyword} type({src}) is {self.constant(self.struct_type(variant))}:")
                else:
                    self.line(depth, f"{keyword} {tag} == {variant.tag!r}:")
                keyword = "elif"
                self.line(depth + 1, f"{out} = {self.emit_record(variant, src, depth + 1, node.tag_field)}")
            self.line(depth, "else: raise Decline")
            return out
        if isinstance(node, OneOf):
            return self.emit_one_of(node, src, depth)
        return self.emit_record(node, src, depth, None)

    def emit_text(self, node: Text, src: str, depth: int) -> str:
        if not self.struct_mode:
            self.line(depth, f"if type({src}) is not str: raise Decline")
        if node.kind in (TextKind.TEXT, TextKind.URI):
            # Whitespace-only text is a warning (text) or an error (URI): the checker reports it.
            # (msgspec checked the string is not empty.)
            empty = "" if self.struct_mode else f"not {src} or "
            self.line(depth, f"if {empty}{src}.isspace(): raise Decline")
        elif node.kind == TextKind.LABEL and not self.struct_mode:
            self.line(depth, f"if not {src}: raise Decline")
        return src

    def emit_array(self, node: Array, src: str, depth: int, alternating: bool = False) -> str:
        """*alternating*: the items are ``(role, ...)`` turns that must alternate user/model."""
        if not self.struct_mode:
            self.line(depth, f"if type({src}) is not list: raise Decline")
        # (msgspec checked an array that may not be empty is not.)
        if (node.empty is not None and not self.struct_mode) or (alternating and node.empty is None):
            self.line(depth, f"if not {src}: raise Decline")
        out, items, item = self.var(), self.var(), self.var()
        if alternating:
            # An odd count ends on a user turn; most examples are one exchange, built without a loop.
            self.line(depth, f"if len({src}) & 1: raise Decline")
            self.line(depth, f"if len({src}) == 2:")
            first = self.emit(node.item, f"{src}[0]", depth + 1)
            second = self.emit(node.item, f"{src}[1]", depth + 1)
            user, model = self.constant(USER), self.constant(MODEL)
            self.line(depth + 1, f"if {first}[0] is not {user} or {second}[0] is not {model}: raise Decline")
            self.line(depth + 1, f"{out} = ({first}, {second})")
        else:
            # Most turns hold one part: that case builds its tuple without a list or a loop.
            self.line(depth, f"if len({src}) == 1:")
            value = self.emit(node.item, f"{src}[0]", depth + 1)
            self.line(depth + 1, f"{out} = ({value},)")
        self.line(depth, "else:")
        self.line(depth + 1, f"{items} = []")
        self.line(depth + 1, f"for {item} in {src}:")
        value = self.emit(node.item, item, depth + 2)
        if alternating:
            roles = self.constant(_ALTERNATION)
            self.line(depth + 2, f"if {value}[0] is not {roles}[len({items}) & 1]: raise Decline")
        self.line(depth + 2, f"{items}.append({value})")
        self.line(depth + 1, f"{out} = tuple({items})")
        return out

    def get(self, src: str, name: str, depth: int) -> str:
        """A variable holding field *name* of *src* (``UNSET``/``MISSING`` when absent)."""
        out = self.var()
        if self.struct_mode:
            self.line(depth, f"{out} = {src}.{name}")
        else:
            self.line(depth, f"{out} = {src}.get({name!r}, MISSING)")
        return out

    def absent(self) -> str:
        return "UNSET" if self.struct_mode else "MISSING"

    def field_node(self, record: Record, f: Field) -> Node:
        """The node the fast paths use for field *f*: a text-only array of one-of parts keeps its text kinds.

        So a file part is an unknown field there (msgspec rejects it in C),
        and the checker says what is wrong.  Derived nodes are kept, so their ids stay theirs.
        """
        for check in record.checks:
            if isinstance(check, TextOnly) and check.field == f.name:
                array = f.node
                if isinstance(array, Array) and isinstance(array.item, OneOf):
                    key = (id(array), "text-only")
                    found = self.derived.get(key)
                    if found is None:
                        item = array.item
                        texts = tuple(g for g in item.fields if isinstance(g.node, Text))
                        found = self.derived[key] = replace(array, item=replace(item, fields=texts))
                    return found
        return f.node

    def emit_record(self, node: Record, src: str, depth: int, tag_field: str | None) -> str:
        if not self.struct_mode:
            keys = frozenset(f.name for f in node.fields) | ({tag_field} if tag_field else set())
            self.line(depth, f"if type({src}) is not dict or not {src}.keys() <= {self.constant(keys)}:")
            self.line(depth + 1, "raise Decline")
        alternating = {c.field for c in node.checks if isinstance(c, Alternating)}
        values = []
        for f in node.fields:
            item = self.get(src, f.name, depth)
            field_node = self.field_node(node, f)
            if f.required is not None:
                if not self.struct_mode:
                    self.line(depth, f"if {item} is MISSING: raise Decline")
                values.append(self.emit_field(field_node, item, depth, f.name in alternating))
                continue
            value = self.var()
            self.line(depth, f"if {item} is {self.absent()}:")
            self.line(depth + 1, f"{value} = {self.constant(f.default)}")
            self.line(depth, "else:")
            built = self.emit_field(field_node, item, depth + 1, f.name in alternating)
            self.line(depth + 1, f"{value} = {built}")
            values.append(value)
        for check in node.checks:
            if (
                isinstance(check, TextOnly)
                and self.field_node(node, _field(node, check.field)) is _field(node, check.field).node
            ):
                # Not an array of one-of parts: test the built parts.
                part = self.var()
                value = values[[f.name for f in node.fields].index(check.field)]
                self.line(depth, f"for {part} in {value}:")
                self.line(depth + 1, f"if type({part}) is not str: raise Decline")
        out = self.var()
        build = node.build
        if build is None:
            self.line(depth, f"{out} = ({', '.join(values)},)" if values else f"{out} = ()")
        elif isinstance(build, str):
            self.line(depth, f"{out} = {values[[f.name for f in node.fields].index(build)]}")
        elif isinstance(build, type) and issubclass(build, tuple) and hasattr(build, "_fields"):
            # A named tuple: tuple.__new__ directly, without its generated __new__'s frame.
            self.line(depth, f"{out} = tuple_new({self.constant(build)}, ({', '.join(values)},))")
        else:
            self.line(depth, f"{out} = {self.constant(build)}({', '.join(values)})")
        if node.refine is not None:
            self.line(depth, f"{out} = {self.constant(node.refine)}({out}, decline)")
        return out

    def emit_field(self, node: Node, src: str, depth: int, alternating: bool) -> str:
        if alternating:
            if not isinstance(node, Array):
                raise TypeError("Alternating applies to an array of turns")
            return self.emit_array(node, src, depth, alternating=True)
        return self.emit(node, src, depth)

    def emit_one_of(self, node: OneOf, src: str, depth: int) -> str:
        out = self.var()
        if self.struct_mode and len(node.fields) == 1:  # a required field of the struct
            (f,) = node.fields
            return self.emit(f.node, self.get(src, f.name, depth), depth)
        if self.struct_mode:
            items = [self.get(src, f.name, depth) for f in node.fields]
            for i, (f, item) in enumerate(zip(node.fields, items, strict=True)):
                others = " and ".join(f"{other} is UNSET" for other in items[:i] + items[i + 1 :])
                self.line(depth, f"{'if' if i == 0 else 'elif'} {item} is not UNSET and {others}:")
                self.line(depth + 1, f"{out} = {self.emit(f.node, item, depth + 1)}")
        else:
            self.line(depth, f"if type({src}) is not dict or len({src}) != 1: raise Decline")
            for i, f in enumerate(node.fields):
                self.line(depth, f"{'if' if i == 0 else 'elif'} {f.name!r} in {src}:")
                item = self.var()
                self.line(depth + 1, f"{item} = {src}[{f.name!r}]")
                self.line(depth + 1, f"{out} = {self.emit(f.node, item, depth + 1)}")
        self.line(depth, "else: raise Decline")
        return out

    # --- msgspec types

    def struct_type(self, node: Node) -> Any:
        """The msgspec type of *node* (structs cached, so the generated code can test them by identity)."""
        found = self.types.get(id(node))
        if found is None:
            found = self.types[id(node)] = self._type(node)
        return found

    def _type(self, node: Node) -> Any:
        from typing import Annotated, Literal

        msgspec = self.msgspec
        non_empty = Annotated[str, msgspec.Meta(min_length=1)]
        if isinstance(node, Text):
            return str if node.kind == TextKind.ANY else non_empty
        if isinstance(node, Choice):
            if node.kinds == (bool,):
                return bool
            return Literal[tuple(node.values)]
        if isinstance(node, Array):
            array_type: Any = list[self.struct_type(node.item)]  # type: ignore[misc]
            if node.empty is not None:
                array_type = Annotated[array_type, msgspec.Meta(min_length=1)]
            return array_type
        if isinstance(node, StringOrArray):
            return Union[self.struct_type(node.text), self.struct_type(node.array)]
        if isinstance(node, Tagged):
            return Union[tuple(self._record_type(v, node.tag_field) for v in node.variants)]
        if isinstance(node, OneOf):
            if len(node.fields) == 1:
                return self._struct([(node.fields[0].name, self.struct_type(node.fields[0].node))])
            return self._struct(
                [
                    (f.name, Union[self.struct_type(f.node), msgspec.UnsetType], msgspec.UNSET)
                    for f in node.fields
                ]
            )
        return self._record_type(node, None)

    def _record_type(self, node: Record, tag_field: str | None) -> Any:
        found = self.types.get(id(node))
        if found is not None:
            return found
        msgspec = self.msgspec
        required = [
            (f.name, self.struct_type(self.field_node(node, f)))
            for f in node.fields
            if f.required is not None
        ]
        optional = [
            (f.name, Union[self.struct_type(self.field_node(node, f)), msgspec.UnsetType], msgspec.UNSET)
            for f in node.fields
            if f.required is None
        ]
        tag = {"tag_field": tag_field, "tag": node.tag} if tag_field is not None else {}
        found = self.types[id(node)] = self._struct([*required, *optional], **tag)
        return found

    def _struct(self, fields: list[Any], **options: Any) -> Any:
        # gc=False: the structs hold no cycles; unknown fields (and other spellings) go to the checker.
        return self.msgspec.defstruct(
            f"Struct{next(self.count)}", fields, forbid_unknown_fields=True, gc=False, **options
        )
