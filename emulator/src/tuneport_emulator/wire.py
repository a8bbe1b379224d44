"""Google's REST conventions that every surface shares.

The error shape (``{"error": {"code", "message", "status", "details"}}``),
the canonical status strings and their HTTP and RPC codes, RFC 3339
timestamps, the ``$alt`` system parameter, and JSON body parsing with the
messages Google's front end (ESF) uses.  Nothing here knows about a
particular API.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "MAX_JSON_DEPTH",
    "RPC_CODES",
    "ApiError",
    "bad_request",
    "error_body",
    "field_violation",
    "format_timestamp",
    "parse_json_body",
    "parse_timestamp",
    "status_for_rpc_code",
]

#: google.rpc.Code: status string -> (numeric RPC code, HTTP status).
_STATUSES: dict[str, tuple[int, int]] = {
    "OK": (0, 200),
    "CANCELLED": (1, 499),
    "UNKNOWN": (2, 500),
    "INVALID_ARGUMENT": (3, 400),
    "DEADLINE_EXCEEDED": (4, 504),
    "NOT_FOUND": (5, 404),
    "ALREADY_EXISTS": (6, 409),
    "PERMISSION_DENIED": (7, 403),
    "RESOURCE_EXHAUSTED": (8, 429),
    "FAILED_PRECONDITION": (9, 400),
    "ABORTED": (10, 409),
    "OUT_OF_RANGE": (11, 400),
    "UNIMPLEMENTED": (12, 501),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
    "DATA_LOSS": (15, 500),
    "UNAUTHENTICATED": (16, 401),
}

#: Status string -> numeric google.rpc.Code (what an Operation's ``error.code`` holds).
RPC_CODES: dict[str, int] = {name: codes[0] for name, codes in _STATUSES.items()}

_BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
#: Deepest JSON nesting accepted, the limit of protobuf's JSON parsers.
MAX_JSON_DEPTH = 100


def status_for_rpc_code(code: int) -> str:
    """The status string of a numeric google.rpc.Code (``UNKNOWN`` if out of range)."""
    for name, (number, _) in _STATUSES.items():
        if number == code:
            return name
    return "UNKNOWN"


class ApiError(Exception):
    """An error answer in Google's shape; raise it from a handler to reply with it.

    ``status`` is the canonical status string (``INVALID_ARGUMENT``…); the
    HTTP code follows from it unless ``http_status`` overrides it.
    ``details`` are ``google.rpc`` detail messages, each with its ``@type``.
    """

    def __init__(
        self,
        status: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        http_status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if status not in _STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.status = status
        self.message = message
        self.details = list(details or [])
        self.http_status = http_status if http_status is not None else _STATUSES[status][1]
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return error_body(self.http_status, self.status, self.message, self.details)


def error_body(
    code: int, status: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """``{"error": {"code", "message", "status"[, "details"]}}`` as Google's front end sends it."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return {"error": error}


def field_violation(field: str, description: str) -> dict[str, Any]:
    """A ``google.rpc.BadRequest`` detail naming one offending field."""
    return {"@type": _BAD_REQUEST_TYPE, "fieldViolations": [{"field": field, "description": description}]}


def bad_request(message: str, *, field: str | None = None) -> ApiError:
    """400 INVALID_ARGUMENT; with ``field`` it carries a BadRequest detail naming it."""
    details = [field_violation(field, message)] if field else None
    return ApiError("INVALID_ARGUMENT", message, details=details)


# --- JSON bodies ---------------------------------------------------------------------


def _reject_constant(name: str) -> float:
    # json.loads accepts the non-standard NaN/Infinity literals; ESF does not.
    raise ValueError(f"unexpected token {name}")


def parse_json_body(raw: bytes) -> Any:
    """Parse a request body; an empty body is an empty message.

    Raises a 400 with ESF's wording on bad UTF-8 or bad JSON, and when the
    top level is not an object.
    """
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("Invalid JSON payload received. Invalid UTF-8 in the request body.") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise bad_request(
            f"Invalid JSON payload received. Nesting is deeper than {MAX_JSON_DEPTH} levels."
        ) from None
    except ValueError as exc:
        raise bad_request(f"Invalid JSON payload received. Unexpected token. ({exc})") from None
    if not isinstance(value, dict):
        raise bad_request('Invalid JSON payload received. Unknown name "": Root element must be a message.')
    if _depth(value) > MAX_JSON_DEPTH:
        raise bad_request(f"Invalid JSON payload received. Nesting is deeper than {MAX_JSON_DEPTH} levels.")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, iteratively (deep values must not exhaust the stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            items: Any = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in items)
    return deepest


# --- timestamps ----------------------------------------------------------------------

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def format_timestamp(seconds: float) -> str:
    """RFC 3339 in UTC with 0, 3 or 6 fractional digits, as proto3 JSON prints a Timestamp."""
    if not math.isfinite(seconds):
        raise ValueError("timestamp must be finite")
    micros = round(seconds * 1_000_000)
    whole, frac = divmod(micros, 1_000_000)
    stamp = datetime.fromtimestamp(whole, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 0:
        return stamp + "Z"
    if frac % 1000 == 0:
        return f"{stamp}.{frac // 1000:03d}Z"
    return f"{stamp}.{frac:06d}Z"


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 timestamp; ``ValueError`` if malformed."""
    match = _RFC3339.match(text)
    if not match:
        raise ValueError(f"invalid RFC 3339 timestamp {text!r}")
    fraction = match.group(7) or ""
    zone = match.group(8).upper()
    base = datetime.fromisoformat(text[: match.start(7) if fraction else match.start(8)].replace("t", "T"))
    offset = datetime.fromisoformat("2000-01-01T00:00:00" + ("+00:00" if zone == "Z" else zone)).utcoffset()
    assert offset is not None
    stamp = base.replace(tzinfo=timezone.utc) - offset
    return stamp.timestamp() + (float(fraction) if fraction else 0.0)
