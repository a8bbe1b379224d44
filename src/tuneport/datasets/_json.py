"""The JSON codecs of the dataset layer: orjson and msgspec when installed, else the stdlib.

orjson parses dataset lines 2-3x faster than :mod:`json`; msgspec decodes a
line straight into typed structs, checking its shape in C, which lets the
hot path skip most per-field Python checks (see ``formats/vertex_fast.py``).
Both are optional: without them the package behaves the same, only slower.
Callers look ``loads``/``dumps`` up on this module at call time (not import)
so tests and the benchmark can force the fallback.  Both codecs raise a
:class:`ValueError` subclass on bad input (including invalid UTF-8), which is
what readers catch.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "dumps", "dumps_line", "loads", "msgspec_module", "use_stdlib"]


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover - the fallback is tested by forcing it
        return None


# Typed Any: both are optional, and the code must not care about their stubs.
orjson: Any = _optional("orjson")
_msgspec: Any = _optional("msgspec")


def _stdlib_loads(data: bytes | str) -> Any:
    return json.loads(data)


def _stdlib_dumps(obj: Any) -> bytes:
    # Same shape as orjson's output: compact, UTF-8, non-ASCII unescaped.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _stdlib_dumps_line(obj: Any) -> bytes:
    return _stdlib_dumps(obj) + b"\n"


def _orjson_dumps_line(obj: Any) -> bytes:
    # orjson appends the newline without copying the output.
    line: bytes = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    return line


loads: Callable[[bytes], Any]
dumps: Callable[[Any], bytes]
dumps_line: Callable[[Any], bytes]
if orjson is not None:
    BACKEND = "orjson"
    loads, dumps, dumps_line = orjson.loads, orjson.dumps, _orjson_dumps_line
else:  # pragma: no cover
    BACKEND = "json"
    loads, dumps, dumps_line = _stdlib_loads, _stdlib_dumps, _stdlib_dumps_line


def msgspec_module() -> Any:
    """The msgspec module, or ``None`` when missing or switched off."""
    return _msgspec


def use_stdlib() -> None:
    """Use only the stdlib (tests of the fallback, and the benchmark's comparison rows)."""
    global BACKEND, loads, dumps, dumps_line, _msgspec
    BACKEND, loads, dumps, dumps_line = "json", _stdlib_loads, _stdlib_dumps, _stdlib_dumps_line
    _msgspec = None
