"""Google's REST conventions that every surface shares.

The error shape (``{"error": {"code", "message", "status", "details"}}``),
the canonical status strings and their HTTP and RPC codes, RFC 3339
timestamps, the ``$alt`` system parameter, and JSON body parsing with the
messages Google's front end (ESF) uses.  Nothing here knows about a
particular API.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from tuneport_emulator import esf_json

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
    "violations_error",
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
#: Deepest object nesting accepted, the limit of protobuf's JSON stream parser.
MAX_JSON_DEPTH = esf_json.MAX_OBJECT_DEPTH


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

_PAYLOAD = "Invalid JSON payload received. "


def violations_error(violations: Sequence[tuple[str, str]]) -> ApiError:
    """400 INVALID_ARGUMENT for problems found while reading a body, worded as ESF reports them.

    Each violation is ``(field, description)``; ``field`` is the proto path
    (``""`` at the root, where Google leaves the field out).  The message is
    the descriptions joined by newlines, and one ``google.rpc.BadRequest``
    detail lists them all, in document order.
    """
    listed = [
        {"field": field, "description": text} if field else {"description": text}
        for field, text in violations
    ]
    message = "\n".join(text for _, text in violations)
    return ApiError(
        "INVALID_ARGUMENT", message, details=[{"@type": _BAD_REQUEST_TYPE, "fieldViolations": listed}]
    )


def parse_json_body(raw: bytes) -> Any:
    """Parse a request body as ESF does; an empty (or blank) body is an empty message.

    The grammar is protobuf's JSON stream parser (:mod:`.esf_json`): trailing
    commas, single quotes and bare keys are accepted.  Malformed text is a 400
    whose message is ``Invalid JSON payload received.`` and the parser's words
    with their context lines; a top level that is not an object is refused as
    ESF refuses it.
    """
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The parser reads the valid prefix, then refuses the rest.
        prefix = raw[: exc.start].decode("utf-8")
        try:
            esf_json.loads(prefix)
        except esf_json.JsonSyntaxError as syntax:
            if not syntax.needs_more:
                raise bad_request(_PAYLOAD + syntax.message) from None
        tail = raw[exc.start :].decode("utf-8", errors="replace")
        raise bad_request(
            f"{_PAYLOAD}Encountered non UTF-8 code points.\n{esf_json.error_context(tail, 0)}"
        ) from None
    try:
        value = esf_json.loads(text)
    except esf_json.JsonSyntaxError as exc:
        raise bad_request(_PAYLOAD + exc.message) from None
    if not isinstance(value, dict):
        raise violations_error([("", f'{_PAYLOAD}Unknown name "": Root element must be a message.')])
    return value


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
    stamp = _whole_seconds(whole)
    if frac == 0:
        return stamp + "Z"
    if frac % 1000 == 0:
        return f"{stamp}.{frac // 1000:03d}Z"
    return f"{stamp}.{frac:06d}Z"


@functools.lru_cache(maxsize=4096)
def _whole_seconds(whole: int) -> str:
    # Cached: a record's times are formatted on every read of it (a tuned model's snapshots,
    # a job's events), and strftime was a fifth of a tuned-model read's CPU.
    return datetime.fromtimestamp(whole, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


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
