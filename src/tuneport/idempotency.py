"""Creates that never duplicate: the helper backends use for non-idempotent creates.

A create that fails *ambiguously* — a timeout or a reset after the service
may have accepted it, a 5xx that may follow a commit, a 2xx whose body cannot
be read — must not be blindly re-sent: that can leave two jobs, both billed.
Two designs avoid it:

* **client-chosen ids** (the gemini backend's ``tunedModelId``): re-sending
  is safe because the service refuses a second job with the same id (409),
  and the existing one is fetched and checked;
* **a client request id stored on the job** (the vertex backend's label):
  before re-sending, look the job up by that id — repeatedly, over a bounded
  *settle window* — and re-send only when the window has passed without it.

:func:`create_once` implements the second as a flow helper::

    request_id = new_request_id()
    body = {..., "labels": {"tuneport-request-id": request_id}}
    job = yield from create_once(
        HttpRequest("POST", url, json=body, headers=server_timeout_header(60.0), idempotent=False),
        parse=lambda response: job_from(response.json()),
        find=lambda: find_by_label(request_id),     # a flow returning the job or None
        settle=settle_window(60.0),
        request_id=request_id,
    )

The settle window
-----------------
An attempt that may have reached the service can still be at work there after
the client gave up on it.  How long is bounded by the service's own deadline
for the request: tuneport sends Google's ``X-Server-Timeout`` system parameter
(:func:`server_timeout_header`) set to the request timeout, so the service
abandons an attempt it has not finished by then.  :func:`settle_window` adds a
grace for the time the request may spend on the way (``min(timeout, 5 s)``):
60 s of timeout give a 65 s window, 2 s give 4 s.  The window is counted from
the failure, which comes after the send, and only the flow's own pauses are
counted, so the real time waited is never shorter.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from tuneport.errors import APIConnectionError, APIError, APIResponseError, InternalServerError
from tuneport.protocol import Effect, HttpRequest, HttpResponse, backoff, request, sleep

__all__ = [
    "AMBIGUOUS",
    "SERVER_TIMEOUT_HEADER",
    "create_once",
    "new_request_id",
    "server_timeout_header",
    "settle_window",
]

T = TypeVar("T")
log = logging.getLogger("tuneport.http")

#: Failures after which the service may or may not have created the job.
AMBIGUOUS = (APIConnectionError, InternalServerError, APIResponseError)

#: Google's system parameter: the time after which the service abandons the request.
SERVER_TIMEOUT_HEADER = "X-Server-Timeout"
#: The most the settle window adds to the request timeout for a request still on its way (seconds).
SETTLE_GRACE = 5.0


def new_request_id() -> str:
    """A fresh client request id (32 lowercase hex characters: a valid label value)."""
    return uuid.uuid4().hex


def server_timeout_header(timeout: float) -> dict[str, str]:
    """The header that bounds how long the service works on one attempt (whole seconds, at least 1)."""
    return {SERVER_TIMEOUT_HEADER: str(max(1, round(timeout)))}


def settle_window(timeout: float) -> float:
    """How long to look for an earlier attempt's job before re-sending: ``timeout + min(timeout, 5 s)``.

    ``timeout`` is the bound sent in :func:`server_timeout_header` (rounded
    the same way): an attempt is abandoned by the service that long after it
    arrived; the grace covers the time it may have spent on the way.
    """
    bound = float(max(1, round(timeout)))
    return bound + min(bound, SETTLE_GRACE)


def _poll_interval(window: float) -> float:
    return min(2.0, max(0.05, window / 8))


def create_once(
    send: HttpRequest,
    *,
    parse: Callable[[HttpResponse], T],
    find: Callable[[], Generator[Effect, Any, T | None]],
    settle: float = settle_window(60.0),
    poll: float | None = None,
    reconcile: Callable[[T], Generator[Effect, Any, T]] | None = None,
    request_id: str | None = None,
) -> Generator[Effect, Any, T]:
    """Send a non-idempotent create so that an ambiguous failure never leaves two jobs.

    After each ambiguous failure (see :data:`AMBIGUOUS`), ``find()`` looks the
    job up by the request's client id at once, then every ``poll`` seconds
    (default: ``settle / 8``, between 50 ms and 2 s) until ``settle`` seconds
    of pauses have passed.  A job found is returned.  Only when the whole
    window has passed without it is the create sent again, after a pause the
    client's retry policy decides (a ``Backoff`` effect, which raises the
    error when the policy's attempts or deadline have run out).  The window's
    pauses are ``Sleep`` effects: like ``wait()``'s polling, they do not count
    against the policy's deadline.

    When more than one attempt was sent, ``reconcile(job)`` runs on the job
    before it is returned: it looks for other jobs carrying the same id and
    keeps one (best effort: an :class:`~tuneport.errors.APIError` it raises is
    logged, not raised).

    A failure that provably happened before the request left (connection
    refused) or a 429 (refused before processing) is re-sent by the driver,
    not here; any other error is raised as is.  Every :class:`APIError` that
    escapes carries ``client_request_id`` (``request_id``) and, when a last
    lookup finds the job, ``job`` and ``job_id``.
    """
    if send.idempotent:
        raise ValueError("create_once is for non-idempotent requests (idempotent=False)")
    if settle < 0:
        raise ValueError("settle must be at least 0 seconds")
    interval = poll if poll is not None else _poll_interval(settle)
    if interval <= 0:
        raise ValueError("poll must be more than 0 seconds")
    attempt = 0
    may_have_landed = False
    try:
        while True:
            attempt += 1
            try:
                response = yield from request(send)
                job = parse(response)
            except AMBIGUOUS as error:
                if isinstance(error, APIConnectionError) and not error.request_sent:
                    raise
                may_have_landed = True
                found = yield from _settle(find, settle, interval)
                if found is None:
                    # The window passed without the job: the attempt did not create one.
                    yield from backoff(error, attempt)  # raises when the retry policy gives up
                    continue
                job = found
            if attempt > 1 and reconcile is not None:
                try:
                    job = yield from reconcile(job)
                except APIError as error:
                    log.warning(
                        "could not check for duplicates of create request %s (%s): %s",
                        request_id or "?",
                        type(error).__name__,
                        error,
                    )
            return job
    except APIError as error:
        if request_id is not None and error.client_request_id is None:
            error.client_request_id = request_id
            if may_have_landed and error.job is None:
                last = yield from _last_lookup(find)
                if last is not None:
                    error.job = last
                    error.job_id = getattr(last, "id", None)
        raise


def _settle(
    find: Callable[[], Generator[Effect, Any, T | None]], window: float, interval: float
) -> Generator[Effect, Any, T | None]:
    """Look the job up now and every ``interval`` seconds until ``window`` seconds of pauses have passed."""
    waited = 0.0
    while True:
        found = yield from find()
        if found is not None:
            return found
        if waited >= window:
            return None
        pause = min(interval, window - waited)
        yield from sleep(pause)
        waited += pause


def _last_lookup(find: Callable[[], Generator[Effect, Any, T | None]]) -> Generator[Effect, Any, T | None]:
    """One more lookup for the error's handle; its own failure is not the caller's concern."""
    try:
        found = yield from find()
    except APIError:
        return None
    return found
