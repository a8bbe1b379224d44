"""Creates that never duplicate: the helper backends use for non-idempotent creates.

A create that fails *ambiguously* — a timeout or a reset after the service
may have accepted it, or a 5xx that may follow a commit — must not be blindly
re-sent: that can leave two jobs, both billed.  Two designs avoid it:

* **client-chosen ids** (the gemini backend's ``tunedModelId``): re-sending
  is safe because the service refuses a second job with the same id (409),
  and the existing one is fetched and checked;
* **a client request id stored on the job** (the vertex backend's label):
  before re-sending, look the job up by that id and return it when found.

:func:`create_once` implements the second as a flow helper::

    request_id = new_request_id()
    body = {..., "labels": {"tuneport-request-id": request_id}}
    job = yield from create_once(
        HttpRequest("POST", url, json=body, idempotent=False),
        parse=lambda response: job_from(response.json()),
        find=lambda: find_by_label(request_id),     # a flow returning the job or None
    )
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from tuneport.errors import APIConnectionError, InternalServerError
from tuneport.protocol import Effect, HttpRequest, HttpResponse, backoff, request

__all__ = ["AMBIGUOUS", "create_once", "new_request_id"]

T = TypeVar("T")

#: Failures after which the service may or may not have created the job.
AMBIGUOUS = (APIConnectionError, InternalServerError)


def new_request_id() -> str:
    """A fresh client request id (32 lowercase hex characters: a valid label value)."""
    return uuid.uuid4().hex


def create_once(
    send: HttpRequest,
    *,
    parse: Callable[[HttpResponse], T],
    find: Callable[[], Generator[Effect, Any, T | None]],
) -> Generator[Effect, Any, T]:
    """Send a non-idempotent create so that an ambiguous failure never leaves two jobs.

    After each ambiguous failure (see :data:`AMBIGUOUS`) the flow waits as the
    client's retry policy says (so a create still in flight can land), then
    ``find()`` looks the job up by the request's client id: a job found is
    returned, otherwise the create is sent again — until the policy's
    attempts or deadline run out, when the last error is raised.  A failure
    that provably happened before the request left (connection refused) or a
    429 (refused before processing) is re-sent by the driver, not here; any
    other error is raised as is.
    """
    if send.idempotent:
        raise ValueError("create_once is for non-idempotent requests (idempotent=False)")
    attempt = 0
    while True:
        attempt += 1
        try:
            response = yield from request(send)
            return parse(response)
        except AMBIGUOUS as error:
            if isinstance(error, APIConnectionError) and not error.request_sent:
                raise
            yield from backoff(error, attempt)  # raises when the retry policy gives up
            found = yield from find()
            if found is not None:
                return found
