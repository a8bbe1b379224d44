"""Scalar values of a request body, converted as protobuf's JSON converter converts them.

ESF hands every JSON value the stream parser read to ``ProtoStreamObjectWriter``,
which converts it with ``DataPiece`` (``google/protobuf/util/internal/datapiece.cc``)
and refuses what does not convert with the value as ``DataPiece`` prints it.
Each function here takes a value as :mod:`.esf_json` returns it (``int`` for
an integer token, ``float`` for any other number) and returns the stored form,
or raises :class:`Refused` whose ``text`` is what follows the comma in
``Invalid value at '<path>' (<type>), <text>``:

- integer fields take integers, doubles with an integral value (``5.0``,
  ``1e2``) and strings of decimal digits with an optional sign (``"+7"``,
  ``"007"``); no spaces around them, no exponent, no fraction;
- float and double fields take numbers, ``"NaN"``, ``"Infinity"``,
  ``"-Infinity"`` and strings ``strtod`` reads in full (``"1e3"``, ``"0x1p3"``);
  a float must fit in 32 bits;
- bool fields take ``true``/``false`` and the strings ``true``, ``t``, ``yes``,
  ``y``, ``1``, ``false``, ``f``, ``no``, ``n``, ``0`` in any case;
- enum fields take a value's exact name, its number as a string when the
  enum has that number, and any 32-bit number (an unknown one is kept as a
  number, as proto3 keeps unknown enum values);
- string fields take only strings; bytes fields take base64 (URL-safe or not).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from tuneport_emulator.esf_json import strtod

__all__ = [
    "INT_RANGES",
    "Refused",
    "shown",
    "to_bool",
    "to_bytes",
    "to_duration",
    "to_enum",
    "to_float",
    "to_int",
    "to_string",
    "to_timestamp",
    "duration_from_parts",
    "timestamp_from_parts",
]

INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_SIGNED_DIGITS = re.compile(r"[+-]?[0-9]+")
_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")
_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_MAX_DURATION_SECONDS = 315_576_000_000
#: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of google.protobuf.Timestamp.
_MIN_TIMESTAMP_SECONDS = -62_135_596_800
_MAX_TIMESTAMP_SECONDS = 253_402_300_799


class Refused(ValueError):
    """A value that does not convert; ``text`` is how the converter shows it."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _dtoa(number: float) -> str:
    # protobuf's SimpleDtoa: %.15g, or %.17g where that does not read back exactly.
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    text = f"{number:.15g}"
    return text if float(text) == number else f"{number:.17g}"


def shown(value: Any) -> str:
    """``value`` as ``DataPiece::ValueAsStringOrDefault`` prints it (strings quoted, unescaped)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _dtoa(value)
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    return ""


def _spaced(text: str) -> bool:
    # DataPiece::StringToNumber refuses a leading or trailing space before parsing.
    return bool(text) and (text[0] == " " or text[-1] == " ")


def _string_to_int(text: str, kind: str) -> int | None:
    if _spaced(text) or not _SIGNED_DIGITS.fullmatch(text):
        return None
    if len(text.lstrip("+-").lstrip("0")) > 20:
        return None  # beyond 64 bits (and int() refuses thousands of digits with an exception)
    if kind.startswith("u") and text.startswith("-"):
        return None
    number = int(text)
    low, high = INT_RANGES[kind]
    return number if low <= number <= high else None


def to_int(value: Any, kind: str) -> int:
    """An ``int32``/``uint32``/``int64``/``uint64`` value."""
    low, high = INT_RANGES[kind]
    if isinstance(value, bool):
        raise Refused(shown(value))
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise Refused(shown(value))
        number = int(value)
    elif isinstance(value, str):
        parsed = _string_to_int(value, kind)
        if parsed is None:
            raise Refused(shown(value))
        number = parsed
    else:
        raise Refused(shown(value))
    if not low <= number <= high:
        raise Refused(shown(value))
    return number


def _fits_float(number: float) -> bool:
    try:
        struct.pack("<f", number)
    except OverflowError:
        return False
    return True


def to_float(value: Any, kind: str) -> float:
    """A ``float`` or ``double`` value (``kind`` names which)."""
    number: float | None
    if isinstance(value, bool):
        raise Refused(shown(value))
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        number = value
    elif isinstance(value, str):
        if value in _FLOAT_WORDS:
            return _FLOAT_WORDS[value]
        number = None if _spaced(value) else strtod(value)
        if number is None or not math.isfinite(number):
            raise Refused(shown(value))
    else:
        raise Refused(shown(value))
    if kind == "float" and not _fits_float(number):
        raise Refused(shown(value))
    return number


def to_bool(value: Any) -> bool:
    """A ``bool`` value (``safe_strtob`` for strings)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and not _spaced(value):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
    raise Refused(shown(value))


def to_string(value: Any) -> str:
    """A ``string`` value: only a JSON string converts."""
    if not isinstance(value, str):
        raise Refused(shown(value))
    return value


def to_bytes(value: Any) -> str:
    """A ``bytes`` value, kept as the base64 text it came as."""
    if not isinstance(value, str):
        raise Refused(shown(value))
    padded = value.replace("-", "+").replace("_", "/")
    padded += "=" * (-len(padded) % 4)
    try:
        base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(shown(value)) from None
    return value


def to_enum(value: Any, values: Mapping[str, int]) -> str | int:
    """An enum value: its name, or the number of a value the enum does not declare."""
    if isinstance(value, str):
        if value in values:
            return value
        number = _string_to_int(value, "int32")
        if number is not None:
            for name, tag in values.items():
                if tag == number:
                    return name
        raise Refused(shown(value))
    number = to_int(value, "int32")
    for name, tag in values.items():
        if tag == number:
            return name
    return number


def to_timestamp(value: Any, key: str) -> str:
    """A ``google.protobuf.Timestamp`` string (``RenderTimestamp``'s checks and words)."""
    if not isinstance(value, str):
        raise Refused(f"Field '{key}', Invalid data type for timestamp, value is {shown(value)}")
    text = value
    if text.endswith("Z"):
        text = text[:-1]
    else:
        cut = max(text.rfind("+"), text.rfind("-"))
        if cut < 0 or not _OFFSET.fullmatch(text[cut:]):
            raise Refused(
                f"Field '{key}', Illegal timestamp format; timestamps must end with 'Z' "
                "or have a valid timezone offset."
            )
        text = text[:cut]
    seconds, _, nanos = text.partition(".")
    try:
        if not _SECONDS.fullmatch(seconds):
            raise ValueError(seconds)
        datetime.strptime(seconds, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        # absl::ParseTime's own explanation follows in Google's message; it is not reproduced.
        raise Refused(f"Field '{key}', Invalid time format: Failed to parse input") from None
    if "." in text and not (nanos.isascii() and nanos.isdigit() and len(nanos) <= 9):
        raise Refused(f"Field '{key}', Invalid time format, failed to parse nano seconds")
    return value


def to_duration(value: Any, key: str) -> str:
    """A ``google.protobuf.Duration`` string (``RenderDuration``'s checks and words)."""
    if not isinstance(value, str):
        raise Refused(f"Field '{key}', Invalid data type for duration, value is {shown(value)}")
    if not value.endswith("s"):
        raise Refused(f"Field '{key}', Illegal duration format; duration must end with 's'")
    text = value[:-1].removeprefix("-")
    seconds, _, nanos = text.partition(".")
    if not (seconds.isascii() and seconds.isdigit()):
        raise Refused(f"Field '{key}', Invalid duration format, failed to parse seconds")
    if "." in text and not (nanos.isascii() and nanos.isdigit() and len(nanos) <= 9):
        raise Refused(f"Field '{key}', Invalid duration format, failed to parse nano seconds")
    if len(seconds.lstrip("0")) > 12 or int(seconds) > _MAX_DURATION_SECONDS:
        raise Refused(f"Field '{key}', Duration value exceeds limits")
    return value


def _fraction(nanos: int) -> str:
    # proto3 JSON prints 0, 3, 6 or 9 fractional digits.
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1000 == 0:
        return f".{nanos // 1000:06d}"
    return f".{nanos:09d}"


def timestamp_from_parts(seconds: int, nanos: int, key: str) -> str:
    """The RFC 3339 string of a Timestamp sent as its ``{"seconds", "nanos"}`` object."""
    if not (_MIN_TIMESTAMP_SECONDS <= seconds <= _MAX_TIMESTAMP_SECONDS and 0 <= nanos < 1_000_000_000):
        raise Refused(f"Field '{key}', Timestamp value exceeds limits")
    stamp = datetime.fromtimestamp(0, tz=timezone.utc) + _seconds(seconds)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(nanos) + "Z"


def duration_from_parts(seconds: int, nanos: int, key: str) -> str:
    """The ``"1.5s"`` string of a Duration sent as its ``{"seconds", "nanos"}`` object."""
    if abs(seconds) > _MAX_DURATION_SECONDS or abs(nanos) >= 1_000_000_000 or seconds * nanos < 0:
        raise Refused(f"Field '{key}', Duration value exceeds limits")
    sign = "-" if seconds < 0 or nanos < 0 else ""
    return f"{sign}{abs(seconds)}{_fraction(abs(nanos))}s"


def _seconds(count: int) -> timedelta:
    return timedelta(seconds=count)
