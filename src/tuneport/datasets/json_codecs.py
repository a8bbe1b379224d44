"""The JSON codec a dataset pass uses, chosen by the caller: orjson and msgspec, or the stdlib.

orjson parses dataset lines 2-3x faster than :mod:`json`; msgspec decodes a
line straight into typed structs derived from the format's grammar, checking
its shape in C, which lets the hot path skip most per-field Python checks
(see ``formats/grammar.py``).  Both are optional: without them the package
behaves the same, only slower.

A codec is a value passed down explicitly (``validate_dataset(...,
codec=JsonCodec.stdlib())``); the default, :meth:`JsonCodec.fastest`, picks
the fastest installed.  Both kinds raise a :class:`ValueError` subclass on
bad input (including invalid UTF-8), which is what readers catch.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonCodec", "resolve_codec"]


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover - the stdlib codec is tested by choosing it
        return None


#: A JSON escape of a UTF-16 surrogate: only then can a decoded string hold a lone one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _stdlib_loads(raw: bytes | str) -> Any:
    """:func:`json.loads`, refusing what orjson refuses (a ``ValueError``, which readers report).

    A lone surrogate (``"\\ud800"``) is not valid JSON text (RFC 8259 §8.2) and no
    UTF-8 encoder takes it; nesting beyond the recursion limit raises ``RecursionError``.
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if _SURROGATE_ESCAPE.search(data):
        from tuneport._nesting import first_lone_surrogate, nested_too_deep, nesting_message

        if nested_too_deep(value):
            raise ValueError(nesting_message())
        problem = first_lone_surrogate(value)
        if problem:
            raise ValueError(f"a string {problem}")
    return value


def _stdlib_dumps(obj: Any) -> bytes:
    # Same shape as orjson's output: compact, UTF-8, non-ASCII unescaped.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _stdlib_dumps_line(obj: Any) -> bytes:
    return _stdlib_dumps(obj) + b"\n"


@dataclass(frozen=True)
class JsonCodec:
    """How JSON is read and written: ``loads``/``dumps``, and msgspec for typed decoding if any."""

    #: ``"orjson"`` (with msgspec when installed) or ``"json"`` (the stdlib).
    name: str
    loads: Callable[[bytes], Any]
    dumps: Callable[[Any], bytes]
    #: ``dumps`` plus a newline (orjson appends it without copying the output).
    dumps_line: Callable[[Any], bytes]
    #: The msgspec module, which derives fast decoders from the formats' grammars (``None``: none).
    msgspec: Any = None

    @classmethod
    def stdlib(cls) -> JsonCodec:
        """The stdlib :mod:`json` only: no optional package (slower, same results)."""
        return _stdlib()

    @classmethod
    def fastest(cls) -> JsonCodec:
        """orjson and msgspec where installed, else the stdlib (the default everywhere)."""
        return _fastest()

    @classmethod
    def named(cls, name: str) -> JsonCodec:
        """The codec called *name* (``"json"`` or ``"orjson"``), e.g. in a worker process."""
        if name == "json":
            return _stdlib()
        codec = _fastest()
        if codec.name != name:
            raise ValueError(f"the JSON codec {name!r} is not installed")
        return codec


@functools.cache
def _stdlib() -> JsonCodec:
    return JsonCodec("json", _stdlib_loads, _stdlib_dumps, _stdlib_dumps_line)


@functools.cache
def _fastest() -> JsonCodec:
    orjson = _optional("orjson")
    msgspec = _optional("msgspec")
    if orjson is None:  # pragma: no cover - CI installs the fast extra
        return JsonCodec("json", _stdlib_loads, _stdlib_dumps, _stdlib_dumps_line, msgspec)
    option = orjson.OPT_APPEND_NEWLINE

    def dumps_line(obj: Any) -> bytes:
        line: bytes = orjson.dumps(obj, option=option)
        return line

    return JsonCodec("orjson", orjson.loads, orjson.dumps, dumps_line, msgspec)


def resolve_codec(codec: JsonCodec | None) -> JsonCodec:
    """*codec*, or the fastest installed when ``None``."""
    return codec if codec is not None else _fastest()
