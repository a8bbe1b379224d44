"""List paging as Google does it: ``pageSize`` with a default and a cap, opaque ``pageToken``.

A page token here is URL-safe base64 of a small JSON object: the position
after the last item returned (a record's creation number) and a fingerprint
of the request's other parameters.  A token that does not decode, or that
was issued for a different filter, is refused with 400 INVALID_ARGUMENT, as
Google refuses a token used with changed parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from tuneport_emulator.wire import bad_request

__all__ = ["decode_page_token", "encode_page_token", "page_size"]

_MAX_INT32 = 2**31 - 1


def page_size(raw: str | None, *, default: int, maximum: int) -> int:
    """The effective page size: ``default`` when unset or 0, at most ``maximum``; 400 if invalid."""
    if raw is None or raw.strip() == "":
        return default
    try:
        size = int(raw)
        if size > _MAX_INT32:
            raise ValueError(raw)  # does not fit the int32 field
    except ValueError:
        raise bad_request(
            f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"", field="page_size"
        ) from None
    if size < 0:
        raise bad_request("page_size must not be negative.", field="page_size")
    if size == 0:
        return default
    return min(size, maximum)


def _fingerprint(context: str) -> str:
    return hashlib.sha256(context.encode("utf-8")).hexdigest()[:12]


def encode_page_token(after: int, *, context: str = "") -> str:
    """A token resuming after creation number ``after`` for requests matching ``context``."""
    raw = json.dumps({"after": after, "ctx": _fingerprint(context)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_page_token(token: str | None, *, context: str = "") -> int:
    """The creation number a token resumes after (0 for no token); 400 if invalid."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data: Any = json.loads(raw)
        after = data["after"]
        matches = data["ctx"] == _fingerprint(context)
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise bad_request("Invalid page token.", field="page_token") from None
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise bad_request("Invalid page token.", field="page_token")
    if not matches:
        raise bad_request(
            "The page token was issued for a request with different parameters.", field="page_token"
        )
    return after
