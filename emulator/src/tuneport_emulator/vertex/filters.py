"""A subset of AIP-160 list filters, as Vertex's list methods take them.

Supported: comparisons ``field = value``, ``!=``, ``<``, ``<=``, ``>``,
``>=``, the has-operator ``:`` (``labels.team:*``, ``labels:team``,
``parent_contexts:"…"``), ``AND``, ``OR`` (which binds tighter than AND, as
AIP-160 says), juxtaposition as AND, ``NOT`` / ``-`` and parentheses (at most
:data:`MAX_NESTING` deep).
Values are quoted strings or bare words; a string value ending in ``*`` is a
prefix match.  Enums compare by name or number, timestamps as RFC 3339
strings.  Anything else (unknown fields, functions, bare words) is a 400
naming the problem, before any record is looked at.

    >>> match = compile_filter('state="JOB_STATE_SUCCEEDED" AND labels.team:*', JOB_FIELDS)  # doctest: +SKIP
    >>> match({"state": "JOB_STATE_SUCCEEDED", "labels": {"team": "x"}})                     # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tuneport_emulator.wire import ApiError, bad_request, parse_timestamp

__all__ = ["FilterField", "Predicate", "compile_filter"]

#: A compiled filter: does this record (field name → value) match?
Predicate = Callable[[Mapping[str, Any]], bool]

_OPERATORS = ("<=", ">=", "!=", "=", "<", ">", ":")
_STOP = set(" \t\r\n()<>=!:\"'")
_KEYWORDS = ("AND", "OR", "NOT")
#: Parentheses nest at most this deep (deeper would exhaust the parser's recursion).
MAX_NESTING = 100


@dataclass(frozen=True)
class FilterField:
    """A filterable field: ``string``, ``number``, ``enum`` (with values), ``timestamp``, ``map`` or ``list``.

    ``key`` is the record key the value is read from.
    """

    key: str
    kind: str
    enum: Mapping[str, int] | None = None


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "op", "(", ")", "end"
    text: str
    position: int


def _error(text: str, reason: str) -> ApiError:
    return bad_request(f"Invalid filter '{text}': {reason}.", field="filter")


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i))
            i += 1
        elif char in "\"'":
            start, i, chars = i, i + 1, []
            while i < len(text) and text[i] != char:
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= len(text):
                raise _error(text, f"unterminated string starting at position {start}")
            tokens.append(_Token("string", "".join(chars), start))
            i += 1
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
            if operator is not None:
                tokens.append(_Token("op", operator, i))
                i += len(operator)
                continue
            if char == "!":
                raise _error(text, f"unexpected '!' at position {i}")
            start = i
            while i < len(text) and text[i] not in _STOP:
                i += 1
            tokens.append(_Token("word", text[start:i], start))
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, FilterField]) -> None:
        self.text = text
        self.fields = fields
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, reason: str) -> ApiError:
        return _error(self.text, reason)

    def parse(self) -> Predicate:
        predicate = self.expression()
        if self.peek().kind != "end":
            token = self.peek()
            raise self.fail(f"unexpected '{token.text}' at position {token.position}")
        return predicate

    def expression(self) -> Predicate:
        parts = [self.sequence()]
        while self.peek().kind == "word" and self.peek().text == "AND":
            self.take()
            parts.append(self.sequence())
        return _all(parts)

    def sequence(self) -> Predicate:
        parts = [self.factor()]
        while self.peek().kind in ("word", "(") and self.peek().text not in ("AND", "OR"):
            parts.append(self.factor())
        return _all(parts)

    def factor(self) -> Predicate:
        parts = [self.term()]
        while self.peek().kind == "word" and self.peek().text == "OR":
            self.take()
            parts.append(self.term())
        if len(parts) == 1:
            return parts[0]
        return lambda record: any(p(record) for p in parts)

    def term(self) -> Predicate:
        token = self.peek()
        if token.kind == "word" and token.text == "NOT":
            self.take()
            inner = self.simple()
            return lambda record: not inner(record)
        if token.kind == "word" and token.text.startswith("-") and len(token.text) > 1:
            self.tokens[self.index] = _Token("word", token.text[1:], token.position + 1)
            inner = self.simple()
            return lambda record: not inner(record)
        return self.simple()

    def simple(self) -> Predicate:
        token = self.take()
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.fail(f"parentheses nest deeper than {MAX_NESTING} levels")
            inner = self.expression()
            if self.take().kind != ")":
                raise self.fail(f"missing ')' for the '(' at position {token.position}")
            self.depth -= 1
            return inner
        if token.kind != "word" or token.text in _KEYWORDS:
            raise self.fail(f"expected a field name at position {token.position}, got '{token.text}'")
        operator = self.take()
        if operator.kind != "op":
            raise self.fail(
                f"'{token.text}' must be compared with a value (=, !=, <, <=, >, >=, :); "
                "free-text search is not supported"
            )
        value = self.take()
        if value.kind not in ("word", "string") or (value.kind == "word" and value.text in _KEYWORDS):
            raise self.fail(f"expected a value after '{operator.text}' at position {operator.position}")
        return self.restriction(token.text, operator.text, value)

    def restriction(self, name: str, operator: str, value: _Token) -> Predicate:
        root, _, sub = name.partition(".")
        spec = self.fields.get(root)
        if spec is None:
            known = ", ".join(sorted(self.fields))
            raise self.fail(f"unknown field '{root}' (filterable: {known})")
        if spec.kind == "map":
            return self.map_restriction(spec, sub, operator, value)
        if sub:
            raise self.fail(f"field '{root}' has no member '{sub}'")
        if spec.kind == "list":
            if operator != ":":
                raise self.fail(f"'{root}' is repeated: use ':' to test membership")
            return lambda record: value.text in (record.get(spec.key) or ())
        if operator == ":":
            if value.text == "*":
                return lambda record: record.get(spec.key) not in (None, "")
            operator = "="
        if spec.kind == "enum":
            return self.enum_restriction(spec, operator, value)
        if spec.kind == "timestamp":
            return self.time_restriction(spec, operator, value)
        if spec.kind == "number":
            return self.number_restriction(spec, operator, value)
        return _compare_strings(spec.key, operator, value.text)

    def map_restriction(self, spec: FilterField, sub: str, operator: str, value: _Token) -> Predicate:
        if not sub:
            if operator != ":":
                raise self.fail(f"'{spec.key}' is a map: use '{spec.key}.KEY=VALUE' or '{spec.key}:KEY'")
            key = value.text
            return lambda record: key in (record.get(spec.key) or {})
        if operator == ":" and value.text == "*":
            return lambda record: sub in (record.get(spec.key) or {})

        def member(record: Mapping[str, Any]) -> Any:
            return (record.get(spec.key) or {}).get(sub)

        if operator == ":":
            operator = "="
        compare = _compare_strings("value", operator, value.text)
        return lambda record: member(record) is not None and compare({"value": member(record)})

    def enum_restriction(self, spec: FilterField, operator: str, value: _Token) -> Predicate:
        values = spec.enum or {}
        wanted = value.text
        if wanted not in values:
            by_number = {str(n): name for name, n in values.items()}
            if wanted not in by_number:
                raise self.fail(f"'{wanted}' is not a value of {spec.key}")
            wanted = by_number[wanted]
        if operator == "=":
            return lambda record: record.get(spec.key) == wanted
        if operator == "!=":
            return lambda record: record.get(spec.key) != wanted
        raise self.fail(f"'{spec.key}' is an enum: only = and != apply")

    def time_restriction(self, spec: FilterField, operator: str, value: _Token) -> Predicate:
        try:
            when = parse_timestamp(value.text)
        except ValueError:
            raise self.fail(f"'{value.text}' is not an RFC 3339 timestamp") from None
        compare = _NUMERIC[operator]
        return lambda record: record.get(spec.key) is not None and compare(float(record[spec.key]), when)

    def number_restriction(self, spec: FilterField, operator: str, value: _Token) -> Predicate:
        try:
            wanted = float(value.text)
        except ValueError:
            raise self.fail(f"'{value.text}' is not a number") from None
        compare = _NUMERIC[operator]
        return lambda record: record.get(spec.key) is not None and compare(float(record[spec.key]), wanted)


_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compare_strings(key: str, operator: str, wanted: str) -> Predicate:
    if operator in ("=", "!="):
        prefix = wanted.endswith("*")
        stem = wanted[:-1] if prefix else wanted

        def equal(record: Mapping[str, Any]) -> bool:
            actual = record.get(key)
            text = "" if actual is None else str(actual)
            return text.startswith(stem) if prefix else text == wanted

        if operator == "=":
            return equal
        return lambda record: not equal(record)
    return lambda record: _ordered(record.get(key), wanted, operator)


def _ordered(actual: Any, wanted: str, operator: str) -> bool:
    if actual is None:
        return False
    text = str(actual)
    return {
        "<": text < wanted,
        "<=": text <= wanted,
        ">": text > wanted,
        ">=": text >= wanted,
    }[operator]


def _all(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    return lambda record: all(p(record) for p in parts)


def compile_filter(text: str | None, fields: Mapping[str, FilterField]) -> Predicate:
    """A predicate for ``text`` over records shaped by ``fields``; 400 if the filter is invalid.

    An empty filter matches everything.
    """
    if text is None or not text.strip():
        return lambda record: True
    return _Parser(text, fields).parse()
