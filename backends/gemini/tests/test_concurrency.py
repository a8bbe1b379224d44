"""The gemini backend shared between concurrent flows: only typed errors, one truth."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import tuneport
from tuneport.errors import NotFoundError
from tuneport.waiting import ManualClock
from tuneport_emulator import Emulator, EmulatorClock

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]
BASE = "models/gemini-1.5-flash-001-tuning"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual()) as running:
        yield running


async def test_concurrent_gets_of_a_job_whose_operation_is_gone(emulator: Emulator) -> None:
    # The backend remembers the creation operation of the models it created; once the
    # model is deleted elsewhere, both gets find the operation gone at the same time.
    options = {
        "backend": "gemini",
        "endpoint": emulator.url,
        "emulator": True,
        "environ": {},
        "clock": ManualClock(),
    }
    async with tuneport.connect_async(**options) as client:
        job = await client.create(base_model=BASE, training_data=PAIRS)
        with tuneport.connect(backend="gemini", endpoint=emulator.url, emulator=True, environ={}) as other:
            other.delete(job.id)
        results = await asyncio.gather(client.get(job.id), client.get(job.id), return_exceptions=True)
    assert all(isinstance(result, NotFoundError) for result in results), results


def test_concurrent_gets_from_threads_share_one_backend(emulator: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with tuneport.connect(backend="gemini", endpoint=emulator.url, emulator=True, environ={}) as client:
        job = client.create(base_model=BASE, training_data=PAIRS)
        with tuneport.connect(backend="gemini", endpoint=emulator.url, emulator=True, environ={}) as other:
            other.delete(job.id)
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(client.get, job.id) for _ in range(16)]
        errors = [future.exception() for future in futures]
    assert all(isinstance(error, NotFoundError) for error in errors), errors
