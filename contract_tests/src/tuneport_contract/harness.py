"""What a backend's test module supplies to the contract kit.

A :class:`Harness` says how to connect to the service under test, what a
valid (and fast) job looks like, and — unless the run is live — a backdoor
into the service: seed a job in a given state and move its clock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from tuneport.client import AsyncTuningClient, TuningClient
from tuneport.models import JobState
from tuneport.waiting import ManualClock

__all__ = [
    "AnswerLosingTransport",
    "AsyncAnswerLosingTransport",
    "AsyncRunner",
    "Backdoor",
    "Call",
    "Harness",
    "Outcome",
    "PREFERENCE_DATA",
    "Runner",
    "SyncRunner",
]

#: Wall-clock seconds a raced call may take before the race is reported as stuck.
RACE_TIMEOUT = 60.0


class Backdoor(Protocol):
    """Reaches into the service without the API under test (zarr's ``set``/``get``)."""

    def seed(self, state: JobState) -> str:
        """Create a job directly in *state* (SUCCEEDED, FAILED, RUNNING…); return its id."""
        ...

    def advance(self, seconds: float) -> None:
        """Move the service's clock forward."""
        ...


@dataclass
class Harness:
    """Everything the kit needs to run the behaviours against one backend."""

    #: Keyword arguments for :func:`tuneport.connect` / ``connect_async``.
    connect: Mapping[str, Any]
    #: Fields of a valid job spec that finishes quickly (``client.create(**spec)``).
    spec: Mapping[str, Any]
    #: The service's backdoor; ``None`` against a real service (live runs).
    backdoor: Backdoor | None = None
    #: Credentials planted in the settings: they must never show anywhere.
    secrets: Sequence[str] = ()
    #: A prompt the tuned model answers (the first training input is a good one).
    prompt: str = "1"
    #: Seconds of service time that certainly finish a job of ``spec``.
    finish_after: float = 24 * 3600.0
    #: Hyperparameter values the backend must refuse before sending (name → value).
    bad_values: Mapping[str, Any] = field(default_factory=lambda: {"epoch_count": 0})
    #: Whether cancel ends in CANCELLED (some services only honour it best-effort).
    cancel_reaches_cancelled: bool = True
    #: Preference examples a preference job of ``spec`` learns from (behaviour 55): any form
    #: ``create(method="preference", training_data=...)`` takes, e.g. ``PreferenceExample``\ s.
    preference_data: Sequence[Any] = field(default_factory=lambda: PREFERENCE_DATA)
    #: Prompts a distillation job learns from (its teacher answers them).
    prompt_data: Sequence[Any] = ("1", "3", "IV")
    #: The teacher of a distillation job: a backend that declares distillation must name one.
    teacher_model: str | None = None
    #: Changes to ``spec`` for a tuning method (method name → fields), e.g. a base model that
    #: takes preference tuning, or the method's hyperparameters; they win over the kit's.
    method_spec: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


#: The default preference data: each prompt of the supervised examples' kind, a better and a worse answer.
PREFERENCE_DATA: tuple[dict[str, str], ...] = (
    {"prompt": "1", "preferred": "2", "rejected": "0"},
    {"prompt": "3", "preferred": "4", "rejected": "2"},
    {"prompt": "IV", "preferred": "V", "rejected": "III"},
)


@dataclass(frozen=True)
class Call:
    """One client call of a race: ``method(*args)`` on the shared client."""

    method: str
    args: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.method}({', '.join(map(repr, self.args))})"


@dataclass(frozen=True)
class Outcome:
    """What one raced call returned or raised."""

    call: Call
    result: Any = None
    error: BaseException | None = None


class Runner(Protocol):
    """Calls a client method the same way for the sync and the async client."""

    @property
    def client(self) -> TuningClient | AsyncTuningClient: ...

    def __call__(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        """``client.<operation>(*args, **kwargs)`` (a list, listed); keywords may include ``method``."""
        ...

    def race(self, calls: Sequence[Call]) -> list[Outcome]:
        """Run *calls* at once on the one client; their outcomes, in the same order."""
        ...

    def close(self) -> None: ...


class SyncRunner:
    """Runs calls on a :class:`TuningClient`; races them in threads sharing it."""

    def __init__(self, client: TuningClient) -> None:
        self.client = client

    def __call__(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, operation)(*args, **kwargs)
        return list(result) if operation == "list" else result

    def race(self, calls: Sequence[Call]) -> list[Outcome]:
        # One thread per call, released together by a barrier, so the flows overlap
        # on the client's one backend instance (and its caches) as much as they can.
        start = threading.Barrier(len(calls))

        def attempt(call: Call) -> Outcome:
            start.wait(RACE_TIMEOUT)
            try:
                return Outcome(call, result=self(call.method, *call.args))
            except Exception as error:
                return Outcome(call, error=error)

        with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="contract-race") as pool:
            futures = [pool.submit(attempt, call) for call in calls]
            return [future.result(RACE_TIMEOUT) for future in futures]

    def close(self) -> None:
        self.client.close()


class AsyncRunner:
    """Runs the same calls on an :class:`AsyncTuningClient`, in its own event loop.

    Races are ``asyncio.gather`` on that one client.
    """

    def __init__(self, client: AsyncTuningClient) -> None:
        self.client = client
        self._loop = asyncio.new_event_loop()

    async def _call(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, operation)(*args, **kwargs)
        if operation == "list":
            return [job async for job in result]
        return await result

    def __call__(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        return self._loop.run_until_complete(self._call(operation, *args, **kwargs))

    def race(self, calls: Sequence[Call]) -> list[Outcome]:
        async def attempt(call: Call) -> Outcome:
            try:
                return Outcome(call, result=await self._call(call.method, *call.args))
            except Exception as error:
                return Outcome(call, error=error)

        async def together() -> list[Outcome]:
            return list(await asyncio.wait_for(asyncio.gather(*map(attempt, calls)), RACE_TIMEOUT))

        return self._loop.run_until_complete(together())

    def close(self) -> None:
        self._loop.run_until_complete(self.client.aclose())
        self._loop.close()


class ServiceLinkedClock(ManualClock):
    """The client's clock, linked to the service's: every client sleep moves the service on.

    With it, waits and long-running-operation polls take no wall time, and
    the service still sees time pass.
    """

    def __init__(self, backdoor: Backdoor) -> None:
        super().__init__()
        self.backdoor = backdoor

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.backdoor.advance(max(seconds, 0.0))


def progress_advancing(backdoor: Backdoor | None, seconds: float) -> Callable[[Any], None] | None:
    """A ``wait(progress=...)`` callback that moves the service clock at every poll."""
    if backdoor is None:
        return None
    return lambda _job: backdoor.advance(seconds)


class _AnswerLoss:
    """Which answers to lose: the first one to each write (method and URL), after the service handled it."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.requests = 0
        self.lost = 0

    def lose(self, request: httpx.Request) -> bool:
        self.requests += 1
        key = (request.method, str(request.url))
        if request.method in ("GET", "HEAD") or key in self.seen:
            return False
        self.seen.add(key)
        self.lost += 1
        return True


class AnswerLosingTransport(httpx.BaseTransport):
    """Sends every request, then drops the answer to the first of each write: a reset after commit."""

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self.transport = transport or httpx.HTTPTransport()
        self.loss = _AnswerLoss()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.transport.handle_request(request)
        if self.loss.lose(request):
            response.read()  # the service finished the request; only its answer is lost
            response.close()
            raise httpx.ReadError("connection reset after the request was handled", request=request)
        return response

    def close(self) -> None:
        self.transport.close()


class AsyncAnswerLosingTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`AnswerLosingTransport`."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport or httpx.AsyncHTTPTransport()
        self.loss = _AnswerLoss()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.transport.handle_async_request(request)
        if self.loss.lose(request):
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("connection reset after the request was handled", request=request)
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()
