"""Google's error bodies: ``{"error": {"code", "message", "status", "details"}}``.

Both Google services answer errors in this shape (``google.rpc.Status`` in
proto3-JSON), sometimes wrapped in a one-element list.  ``details`` may carry a
``RequestInfo`` (the request id Google's support asks for) and a ``RetryInfo``
(how long to wait), which tuneport's retry policy honours.
"""

from __future__ import annotations

import re
from typing import Any

from tuneport.errors import APIResponseError
from tuneport.protocol import ErrorDetails, HttpResponse, read_error_body

__all__ = ["read_google_error"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


def read_google_error(response: HttpResponse) -> ErrorDetails:
    """What a Google front end said in an error answer (any other shape: the neutral reading)."""
    try:
        body: Any = response.json()
    except APIResponseError:  # not JSON: the neutral reading takes the text
        return read_error_body(response)
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # some Google frontends wrap the error in a list
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return read_error_body(response)
    request_id: str | None = None
    retry_after: float | None = None
    for detail in error.get("details") or ():
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.RequestInfo") and detail.get("requestId"):
            request_id = str(detail["requestId"])
        elif kind.endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                retry_after = float(match.group(1))
    status = error.get("status")
    return ErrorDetails(
        message=str(error.get("message") or "") or f"HTTP {response.status_code}",
        status=status if isinstance(status, str) else None,
        request_id=request_id,
        retry_after=retry_after,
        body=body,
    )
