"""The test-only admin surface under ``/_emulator/``: inspect and reset state, move the clock.

These routes are not in the request log, so that tests and the contract kit
can look at what clients sent without changing it.  On loopback they need no
credentials; :class:`~tuneport_emulator.guard.Guard` keeps web pages away
from them (loopback Host and Origin only, ``Content-Type: application/json``
on writes), and a remote emulator with a key demands it here too.
Surfaces add their own seeding routes under ``/_emulator/<surface>/``.
"""

from __future__ import annotations

import math
from typing import Any

from tuneport_emulator.faults import FaultSpecError
from tuneport_emulator.routing import Request, Response, Router
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.wire import bad_request

__all__ = ["register"]

_JSON = "application/json; charset=UTF-8"


def register(router: Router, context: EmulatorContext) -> None:
    """Add the generic admin routes to ``router``."""
    store, clock, faults = context.store, context.clock, context.faults

    def reset(request: Request) -> Response:
        request.json()  # a body, if any, must still be JSON
        store.reset()
        return Response({})

    def state(request: Request) -> Response:
        body: dict[str, Any] = {
            "clock": clock.describe(),
            "state": store.snapshot(),
            "requestCount": len(store.request_log),
            "internalErrors": store.internal_errors,
        }
        return Response(body)

    def list_requests(request: Request) -> Response:
        # The log's stored encodings, joined: listing it costs no more memory than it holds.
        return Response(b'{"requests":' + store.request_log.json_array() + b"}\n", content_type=_JSON)

    def clear_requests(request: Request) -> Response:
        store.clear_requests()
        return Response({})

    def get_clock(request: Request) -> Response:
        return Response(clock.describe())

    def advance_clock(request: Request) -> Response:
        body = _body_with(request, {"seconds"})
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise bad_request("seconds must be a finite number >= 0.", field="seconds")
        try:
            if not math.isfinite(seconds) or seconds < 0:
                raise ValueError(seconds)
            clock.advance(float(seconds))  # ValueError past year 9999
        except (ValueError, OverflowError):  # OverflowError: an integer too large for a float
            raise bad_request(
                "seconds must be a finite number >= 0 that keeps the clock before year 10000.",
                field="seconds",
            ) from None
        return Response(clock.describe())

    def get_faults(request: Request) -> Response:
        return Response(faults.stats())

    def set_faults(request: Request) -> Response:
        body = _body_with(request, {"spec"})
        spec = body.get("spec")
        if spec is not None and not isinstance(spec, str):
            raise bad_request("spec must be a fault spec string, or null to turn faults off.", field="spec")
        try:
            faults.configure(spec)
        except FaultSpecError as exc:
            raise bad_request(str(exc), field="spec") from None
        return Response(faults.stats())

    routes = [
        ("POST", "/_emulator/reset", reset, "admin.reset"),
        ("GET", "/_emulator/state", state, "admin.state"),
        ("GET", "/_emulator/requests", list_requests, "admin.requests.list"),
        ("DELETE", "/_emulator/requests", clear_requests, "admin.requests.clear"),
        ("GET", "/_emulator/clock", get_clock, "admin.clock.get"),
        ("POST", "/_emulator/clock:advance", advance_clock, "admin.clock.advance"),
        ("GET", "/_emulator/faults", get_faults, "admin.faults.get"),
        ("PUT", "/_emulator/faults", set_faults, "admin.faults.set"),
    ]
    for method, path, handler, name in routes:
        router.add(method, path, handler, name=name, log=False)


def _body_with(request: Request, fields: set[str]) -> dict[str, Any]:
    """The JSON body; 400 naming the first field that is not one of ``fields``."""
    body = request.json()
    unknown = set(body) - fields
    if unknown:
        raise bad_request(f'Unknown name "{sorted(unknown)[0]}": Cannot find field.')
    return body
