"""JSON text as Google's REST front end (ESF) reads it.

ESF transcodes request bodies with protobuf's JSON stream parser
(``google/protobuf/util/internal/json_stream_parser.cc``, the converter that
shipped with protobuf up to 21.x).  Its grammar is JSON plus what that file
accepts on purpose, and this module implements the same grammar, with the
parser's own error words:

- a trailing comma before ``}`` or ``]`` (``ParseEntry`` / ``ParseArrayValue``
  accept the closing bracket where a key or value is expected);
- strings in single quotes as well as double quotes;
- bare object keys ``[A-Za-z_$][A-Za-z0-9_$]*`` (``ConsumeKey``), except the
  bare words ``true``, ``false`` and ``null``;
- any character after a backslash stands for itself (``\\'``, ``\\/``, ``\\a``…),
  ``\\v`` is a vertical tab, and raw control characters are kept;
- numbers: a leading zero is refused (``Octal/hex numbers are not valid JSON
  values.``), integers beyond 64 bits become doubles, and a number with ``.``,
  ``e`` or ``E`` is read by C's ``strtod`` (so ``1.``, ``-.5`` and ``0x1.8``
  are numbers) and must be finite;
- ``NaN``, ``Infinity``, comments and a leading ``+`` are refused.

Objects nest at most :data:`MAX_OBJECT_DEPTH` deep, the parser's limit;
arrays (which the parser does not count) are bounded by the emulator at
:data:`MAX_ARRAY_DEPTH`.  The parser is iterative, so no input exhausts the
stack.  Integers come back as ``int``, every other number as ``float``; an
object whose key repeats comes back as :class:`RepeatedKeyObject`, which
keeps every pair (the converter writes each one, so the later value wins for
a scalar, merges for a message and appends for a repeated field).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

__all__ = [
    "MAX_ARRAY_DEPTH",
    "MAX_OBJECT_DEPTH",
    "JsonSyntaxError",
    "RepeatedKeyObject",
    "error_context",
    "loads",
    "strtod",
]

#: ``kDefaultMaxRecursionDepth`` of the stream parser: objects nested deeper are refused.
MAX_OBJECT_DEPTH = 100
#: The emulator's own bound on nested arrays (the parser counts only objects).
MAX_ARRAY_DEPTH = 100
#: Characters shown on each side of the error position (``kContextLength``).
_CONTEXT = 20

_WHITESPACE = re.compile(r"[ \t\n\v\f\r]*")  # absl::ascii_isspace
_BARE_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER_CHARS = re.compile(r"[0-9.eE+\-x]*")
_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_STRING_END = {'"': re.compile(r'["\\]'), "'": re.compile(r"['\\]")}
# C strtod, restricted to the forms it reads in full (no locale, no trailing junk).
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEXFLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?")
_WORDS = re.compile(r"([+-]?)(inf|infinity|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)
_C_SPACE = " \t\n\v\f\r"

_UINT64_MAX = 2**64 - 1
_INT64_MIN = -(2**63)


class JsonSyntaxError(ValueError):
    """The body is not JSON as the stream parser reads it.

    ``message`` is the parser's wording followed by its context (the text
    around the error and a caret); ``needs_more`` is true when the parser
    would have waited for more input instead (an error at the end of the
    text), which matters when the body is cut short by invalid UTF-8.
    """

    def __init__(self, message: str, *, needs_more: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.needs_more = needs_more


class RepeatedKeyObject(dict[str, Any]):
    """A JSON object in which a key occurs more than once.

    As a dict it holds the last value of each key; :attr:`pairs` holds every
    ``(key, value)`` pair in document order.
    """

    pairs: list[tuple[str, Any]]


def error_context(text: str, position: int) -> str:
    """The parser's context lines: up to 20 characters each side, then a caret under ``position``."""
    begin = max(position - _CONTEXT, 0)
    segment = text[begin : position + _CONTEXT]
    return f"{segment}\n{' ' * (position - begin)}^"


def strtod(text: str) -> float | None:
    """C's ``strtod`` when it must read all of ``text``; None where it would stop short.

    Leading and trailing C whitespace is skipped (``safe_strtod``), and
    ``inf``, ``infinity`` and ``nan`` are words it knows, in any case.
    """
    body = text.strip(_C_SPACE)
    if not body or body[0] in _C_SPACE:
        return None
    if _DECIMAL.fullmatch(body):
        return float(body)
    if _HEXFLOAT.fullmatch(body):
        try:
            return float.fromhex(body)
        except OverflowError:
            return -math.inf if body.startswith("-") else math.inf
    word = _WORDS.fullmatch(body)
    if word:
        value = math.nan if word.group(2).lower().startswith("nan") else math.inf
        return -value if word.group(1) == "-" else value
    return None


def loads(text: str) -> Any:
    """Parse ``text`` as the stream parser does; raises :class:`JsonSyntaxError`."""
    value = _strict(text)
    if value is not _NOT_STRICT:
        return value
    return _Parser(text).parse()


# --- the fast path: strict JSON, read by the json module where it reads the same -----------

_NOT_STRICT = object()
#: A \uD800-\uDFFF escape: json accepts it unpaired, the stream parser does not.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _NotStrict(Exception):
    """Raised from a json hook: the text needs the stream parser's own reading."""


def _refuse_constant(_name: str) -> Any:
    raise _NotStrict  # NaN, Infinity: the stream parser refuses them, with its own words


def _integer(token: str) -> int | float:
    digits = token.lstrip("-")
    if len(digits) > 20:  # beyond 64 bits (and int() refuses thousands of digits)
        raise _NotStrict
    whole = int(token)
    if not _INT64_MIN <= whole <= _UINT64_MAX:
        raise _NotStrict  # a double for the parser; let it read the token
    return whole


def _double(token: str) -> float:
    number = float(token)
    if not math.isfinite(number):
        raise _NotStrict  # "Number exceeds the range of double."
    return number


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) < len(pairs):
        repeated = RepeatedKeyObject(value)
        repeated.pairs = pairs
        return repeated
    return value


def _strict(text: str) -> Any:
    """``text`` read by :mod:`json` (in C, some fifty times faster), or ``_NOT_STRICT``.

    Where both read a text they agree: strict JSON is a subset of the stream
    parser's grammar.  The hooks hand back to the stream parser what json
    would read differently (``NaN``, integers beyond 64 bits, non-finite
    doubles, unpaired surrogate escapes) and anything nested too deep.
    """
    if _SURROGATE_ESCAPE.search(text):
        return _NOT_STRICT
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_int=_integer,
            parse_float=_double,
            object_pairs_hook=_object,
            strict=False,  # raw control characters in strings, as the stream parser keeps them
        )
    except (_NotStrict, ValueError, RecursionError):
        return _NOT_STRICT
    if text.count("{") <= MAX_OBJECT_DEPTH and text.count("[") <= MAX_ARRAY_DEPTH:
        return value  # no deeper than it has brackets (counted in C): within the limits, no walk
    return value if _within_depth(value) else _NOT_STRICT


def _within_depth(value: Any) -> bool:
    """Objects and arrays nest within the limits (iteratively)."""
    pending: list[tuple[Any, int, int]] = [(value, 0, 0)]
    while pending:
        item, objects, arrays = pending.pop()
        if isinstance(item, dict):
            objects += 1
            children: Any = item.values()
        elif isinstance(item, list):
            arrays += 1
            children = item
        else:
            continue
        if objects > MAX_OBJECT_DEPTH or arrays > MAX_ARRAY_DEPTH:
            return False
        pending.extend((child, objects, arrays) for child in children)
    return True


# Parse states (the parser's ParseType) and token kinds (its TokenType).
_VALUE, _OBJ_MID, _ENTRY, _ENTRY_MID, _ARRAY_VALUE, _ARRAY_MID = range(6)
(
    _BEGIN_STRING,
    _BEGIN_NUMBER,
    _BEGIN_TRUE,
    _BEGIN_FALSE,
    _BEGIN_NULL,
    _BEGIN_OBJECT,
    _END_OBJECT,
    _BEGIN_ARRAY,
    _END_ARRAY,
    _ENTRY_SEPARATOR,
    _VALUE_SEPARATOR,
    _BEGIN_KEY,
    _UNKNOWN,
) = range(13)
_SINGLE = {
    "{": _BEGIN_OBJECT,
    "}": _END_OBJECT,
    "[": _BEGIN_ARRAY,
    "]": _END_ARRAY,
    ":": _ENTRY_SEPARATOR,
    ",": _VALUE_SEPARATOR,
}
_KEYWORDS = (("true", _BEGIN_TRUE, True), ("false", _BEGIN_FALSE, False), ("null", _BEGIN_NULL, None))


class _Container:
    """An object or array being read; ``key`` is the key it will be stored under."""

    __slots__ = ("is_object", "items", "key", "pending")

    def __init__(self, is_object: bool, key: str) -> None:
        self.is_object = is_object
        self.items: list[Any] = []  # values of an array, (key, value) pairs of an object
        self.key = key
        self.pending = ""  # the key whose value comes next (objects)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.end = len(text)
        self.stack: list[int] = [_VALUE]
        self.open: list[_Container] = []
        self.objects = 0
        self.arrays = 0
        self.result: Any = None

    # --- errors -------------------------------------------------------------------

    def fail(self, message: str, position: int | None = None, *, needs_more: bool = False) -> NoReturn:
        where = self.pos if position is None else position
        raise JsonSyntaxError(f"{message}\n{error_context(self.text, where)}", needs_more=needs_more)

    def unknown(self, message: str) -> NoReturn:
        # ReportUnknown: the parser would wait for more input before saying this.
        if self.pos >= self.end:
            self.fail(f"Unexpected end of string. {message}", needs_more=True)
        self.fail(message, needs_more=True)

    # --- the driver -----------------------------------------------------------------

    def parse(self) -> Any:
        handlers = {
            _VALUE: self.value,
            _OBJ_MID: self.object_mid,
            _ENTRY: self.entry,
            _ENTRY_MID: self.entry_mid,
            _ARRAY_VALUE: self.array_value,
            _ARRAY_MID: self.array_mid,
        }
        while self.stack:
            state = self.stack.pop()
            handlers[state](self.next_token())
        self.skip_whitespace()
        if self.pos < self.end:
            self.fail("Parsing terminated before end of input.")
        return self.result

    def skip_whitespace(self) -> None:
        match = _WHITESPACE.match(self.text, self.pos)
        assert match is not None  # the pattern matches the empty string
        self.pos = match.end()

    def next_token(self) -> int:
        self.skip_whitespace()
        if self.pos >= self.end:
            return _UNKNOWN
        char = self.text[self.pos]
        if char in "\"'":
            return _BEGIN_STRING
        if char == "-" or "0" <= char <= "9":
            return _BEGIN_NUMBER
        for word, token, _ in _KEYWORDS:
            if self.text.startswith(word, self.pos):
                return token
        if char in _SINGLE:
            return _SINGLE[char]
        if _BARE_KEY.match(self.text, self.pos):
            return _BEGIN_KEY
        return _UNKNOWN

    # --- values -----------------------------------------------------------------------

    def emit(self, value: Any) -> None:
        if not self.open:
            self.result = value
            return
        parent = self.open[-1]
        if parent.is_object:
            parent.items.append((parent.pending, value))
        else:
            parent.items.append(value)

    def key_of_next_value(self) -> str:
        if self.open and self.open[-1].is_object:
            return self.open[-1].pending
        return ""

    def value(self, token: int) -> None:
        if token == _BEGIN_OBJECT:
            key = self.key_of_next_value()
            self.objects += 1
            if self.objects > MAX_OBJECT_DEPTH:
                raise JsonSyntaxError(f"Message too deep. Max recursion depth reached for key '{key}'")
            self.pos += 1
            self.open.append(_Container(True, key))
            self.stack.append(_ENTRY)
        elif token == _BEGIN_ARRAY:
            self.arrays += 1
            if self.arrays > MAX_ARRAY_DEPTH:
                raise JsonSyntaxError(
                    f"Arrays are nested deeper than {MAX_ARRAY_DEPTH} levels "
                    f"(the emulator's limit) at key '{self.key_of_next_value()}'"
                )
            self.pos += 1
            self.open.append(_Container(False, self.key_of_next_value()))
            self.stack.append(_ARRAY_VALUE)
        elif token == _BEGIN_STRING:
            self.emit(self.string())
        elif token == _BEGIN_NUMBER:
            self.emit(self.number())
        elif token in (_BEGIN_TRUE, _BEGIN_FALSE, _BEGIN_NULL):
            word, _, literal = _KEYWORDS[(_BEGIN_TRUE, _BEGIN_FALSE, _BEGIN_NULL).index(token)]
            self.pos += len(word)
            self.emit(literal)
        elif token == _UNKNOWN:
            self.unknown("Expected a value.")
        else:
            # Fewer than five characters left: the parser would wait for more ('fals').
            self.fail("Unexpected token.", needs_more=self.end - self.pos < len("false"))

    def close(self) -> None:
        self.pos += 1
        done = self.open.pop()
        value: Any
        if done.is_object:
            self.objects -= 1
            value = dict(done.items)
            if len(value) < len(done.items):
                repeated = RepeatedKeyObject(value)
                repeated.pairs = done.items
                value = repeated
        else:
            self.arrays -= 1
            value = done.items
        if not self.open:
            self.result = value
            return
        parent = self.open[-1]
        if parent.is_object:
            parent.items.append((done.key, value))
        else:
            parent.items.append(value)

    # --- objects ------------------------------------------------------------------------

    def entry(self, token: int) -> None:
        if token == _UNKNOWN:
            self.unknown("Expected an object key or }.")
        if token == _END_OBJECT:  # also after a trailing comma
            self.close()
            return
        if token == _BEGIN_STRING:
            key = self.string()
        elif token in (_BEGIN_KEY, _BEGIN_TRUE, _BEGIN_FALSE, _BEGIN_NULL):
            match = _BARE_KEY.match(self.text, self.pos)
            assert match is not None  # the token starts with a letter
            key = match.group()
            self.pos = match.end()
            if key in ("true", "false", "null"):
                self.fail("Expected an object key or }.")
        else:
            self.fail("Expected an object key or }.")
        self.open[-1].pending = key
        self.stack.extend((_OBJ_MID, _ENTRY_MID))

    def entry_mid(self, token: int) -> None:
        if token == _UNKNOWN:
            self.unknown("Expected : between key:value pair.")
        if token != _ENTRY_SEPARATOR:
            self.fail("Expected : between key:value pair.")
        self.pos += 1
        self.stack.append(_VALUE)

    def object_mid(self, token: int) -> None:
        if token == _UNKNOWN:
            self.unknown("Expected , or } after key:value pair.")
        if token == _END_OBJECT:
            self.close()
        elif token == _VALUE_SEPARATOR:
            self.pos += 1
            self.stack.append(_ENTRY)
        else:
            self.fail("Expected , or } after key:value pair.")

    # --- arrays -------------------------------------------------------------------------

    def array_value(self, token: int) -> None:
        if token == _UNKNOWN:
            self.unknown("Expected a value or ] within an array.")
        if token == _END_ARRAY:  # also after a trailing comma
            self.close()
            return
        self.stack.append(_ARRAY_MID)
        self.value(token)

    def array_mid(self, token: int) -> None:
        if token == _UNKNOWN:
            self.unknown("Expected , or ] after array value.")
        if token == _END_ARRAY:
            self.close()
        elif token == _VALUE_SEPARATOR:
            self.pos += 1
            self.stack.append(_ARRAY_VALUE)
        else:
            self.fail("Expected , or ] after array value.")

    # --- scalars --------------------------------------------------------------------------

    def string(self) -> str:
        text = self.text
        quote = text[self.pos]
        stop = _STRING_END[quote]
        self.pos += 1
        parts: list[str] = []
        while True:
            found = stop.search(text, self.pos)
            if found is None:
                self.pos = self.end
                self.fail("Closing quote expected in string.", needs_more=True)
            at = found.start()
            parts.append(text[self.pos : at])
            if text[at] == quote:
                self.pos = at + 1
                return "".join(parts)
            if at + 1 >= self.end:
                self.fail("Closing quote expected in string.", at, needs_more=True)
            escaped = text[at + 1]
            if escaped == "u":
                parts.append(self.unicode_escape(at))
            else:
                parts.append(_ESCAPES.get(escaped, escaped))
                self.pos = at + 2

    def unicode_escape(self, at: int) -> str:
        text = self.text
        if self.end - at < 6:
            self.fail("Illegal hex string.", at, needs_more=True)
        digits = text[at + 2 : at + 6]
        if not set(digits) <= _HEX:
            self.fail("Invalid escape sequence.", at)
        code = int(digits, 16)
        width = 6
        if 0xD800 <= code <= 0xDBFF:
            if self.end - at < 12:
                self.fail("Missing low surrogate.", at, needs_more=True)
            if text[at + 6 : at + 8] != "\\u":
                self.fail("Missing low surrogate.", at)
            low_digits = text[at + 8 : at + 12]
            if not set(low_digits) <= _HEX:
                self.fail("Invalid escape sequence.", at)
            low = int(low_digits, 16)
            if not 0xDC00 <= low <= 0xDFFF:
                self.fail("Invalid low surrogate.", at)
            code = 0x10000 + ((code & 0x3FF) << 10) + (low & 0x3FF)
            width = 12
        elif 0xD800 <= code <= 0xDFFF:
            self.fail("Invalid unicode code point.", at)
        self.pos = at + width
        return chr(code)

    def number(self) -> int | float:
        start = self.pos
        match = _NUMBER_CHARS.match(self.text, start)
        assert match is not None  # the pattern matches the empty string
        token = match.group()
        floating = any(c in token for c in ".eE")
        negative = token.startswith("-")
        value: int | float | None = None
        if not floating:
            digits = token[1:] if negative else token
            if (not negative and len(token) >= 2 and token[0] == "0") or (
                negative and len(token) >= 3 and token[1] == "0"
            ):
                self.fail("Octal/hex numbers are not valid JSON values.", start)
            # 20 digits hold any 64-bit integer; a longer one is read as a double (and int()
            # refuses strings over 4300 digits, which would be a 500).
            if digits.isascii() and digits.isdigit() and len(digits) <= 20:
                whole = int(token)
                if _INT64_MIN <= whole <= _UINT64_MAX:
                    value = whole
        if value is None:  # a double: safe_strtod, which must read it all
            value = strtod(token)
            if value is None:
                self.fail("Unable to parse number.", start)
            if not math.isfinite(value):
                self.fail("Number exceeds the range of double.", start)
        self.pos = match.end()
        return value
