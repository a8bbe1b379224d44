"""200 full lifecycles through 30% injected faults and a killed emulator: nothing duplicated, nothing lost.

One emulator process with ``--state`` and ``--faults chaos`` (30% of requests
fail: 503/500/429/resets before the handler, and 503/500/resets *after* the
change is committed, i.e. lost answers) and, on creates, answers slower than
the client's 2 s timeout, stalls longer than a whole lifecycle and 200s whose
body is not JSON.  100 gemini and 100 vertex
lifecycles — create, wait, metrics, generate, delete — run concurrently
through :class:`~tuneport.AsyncTuningClient` (every fifth through the blocking
:class:`~tuneport.TuningClient`, in worker threads); once a third have finished the
emulator is killed with SIGKILL and started again on the same state file.

Then, from the emulator's own records: every create happened exactly once
(the creation counters equal the number of lifecycles; every vertex job's
display name occurs once), every job succeeded and was cleaned up, and no
handler raised.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from chaos_helpers import FIGURES, STALL, EmulatorProcess

import tuneport
from tuneport import JobState, NotFoundError, RetryPolicy, TuneportError
from tuneport.demo import NUMBER_SUCCESSOR

LIFECYCLES_PER_BACKEND = 100
CONCURRENCY = 40
#: Every fifth lifecycle goes through the blocking TuningClient (in worker threads).
SYNC_EVERY = 5
#: Fraction of lifecycles finished before the emulator is killed and restarted.
KILL_AFTER = 1 / 3
#: Fast retries: the faults are transient; the restart takes about a second.
RETRY = RetryPolicy(
    max_attempts=40, initial_backoff=0.02, max_backoff=0.25, retry_after_cap=0.1, deadline=120.0
)
POLL = 0.25
#: The request timeout: slow creates (2.5 s) answer after it; the settle window is 4 s.
TIMEOUT = 2.0


def _settings(backend: str, url: str) -> dict[str, Any]:
    common: dict[str, Any] = {
        "backend": backend,
        "endpoint": url,
        "emulator": True,
        "environ": {},
        "retry": RETRY,
        "timeout": TIMEOUT,
    }
    if backend == "gemini":
        return {**common, "api_key": "chaos-test-key-not-real"}
    return {
        **common,
        "project": "tuneport-chaos",
        "location": "us-central1",
        "staging_bucket": "gs://tuneport-chaos",
    }


BASE_MODEL = {"gemini": "models/gemini-1.5-flash-001-tuning", "vertex": "gemini-2.5-flash"}


#: An operation of a client, awaited: ``await call("create", ...)``.
Call = Callable[..., Awaitable[Any]]


def _async_calls(client: tuneport.AsyncTuningClient) -> Call:
    return lambda operation, *args, **kwargs: getattr(client, operation)(*args, **kwargs)


def _sync_calls(client: tuneport.TuningClient, threads: ThreadPoolExecutor) -> Call:
    # The blocking client, in worker threads: its driver and retries are exercised too.
    def call(operation: str, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        method = functools.partial(getattr(client, operation), *args, **kwargs)
        return asyncio.get_running_loop().run_in_executor(threads, method)

    return call


async def _lifecycle(call: Call, backend: str, number: int, dataset: Path, outcome: dict[str, Any]) -> None:
    outcome["create_started"] = time.monotonic()
    job = await call(
        "create",
        base_model=BASE_MODEL[backend],
        training_data=str(dataset),
        display_name=f"chaos-{backend}-{number}",
        epoch_count=1,
    )
    outcome["job_id"] = job.id
    done = await call("wait", job.id, poll=POLL, timeout=300)
    outcome["state"] = done.state.value
    metrics = await call("metrics", job.id)
    outcome["metric_points"] = sum(len(points) for points in metrics.series.values())
    question, answer = NUMBER_SUCCESSOR[number % len(NUMBER_SUCCESSOR)]
    generation = await call("generate", job.id, question)
    outcome["answer_ok"] = generation.text.strip() == answer
    await call("delete", job.id)
    outcome["deleted"] = True


async def _run_all(emulator: EmulatorProcess, dataset: Path) -> dict[str, Any]:
    outcomes: list[dict[str, Any]] = []
    gate = asyncio.Semaphore(CONCURRENCY)
    finished = 0
    total = 2 * LIFECYCLES_PER_BACKEND
    killed = asyncio.Event()
    restart: dict[str, Any] = {}

    async def one(calls: dict[str, Call], backend: str, number: int) -> None:
        nonlocal finished
        kind = "sync" if number % SYNC_EVERY == 0 else "async"
        outcome: dict[str, Any] = {"backend": backend, "number": number, "client": kind}
        outcomes.append(outcome)
        async with gate:
            try:
                await _lifecycle(calls[kind], backend, number, dataset, outcome)
            except Exception as exc:  # counted and reported: the test requires none
                outcome["error"] = "".join(traceback.format_exception(exc))
                outcome["typed"] = isinstance(exc, TuneportError)
                outcome["handle"] = getattr(exc, "client_request_id", None)
        finished += 1
        if finished >= total * KILL_AFTER and not killed.is_set():
            killed.set()
            # Blocking, on purpose: nothing else runs while the emulator restarts, and the
            # restart does not queue behind the blocking clients' threads.
            restart["faults_before"] = emulator.admin("faults")
            started = time.monotonic()
            emulator.kill()
            emulator.start()
            restart["seconds_down"] = round(time.monotonic() - started, 2)
            restart["at_lifecycle"] = finished

    async with (
        tuneport.connect_async(**_settings("gemini", emulator.url)) as gemini,
        tuneport.connect_async(**_settings("vertex", emulator.url)) as vertex,
    ):
        with (
            tuneport.connect(**_settings("gemini", emulator.url)) as gemini_sync,
            tuneport.connect(**_settings("vertex", emulator.url)) as vertex_sync,
            ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="sync-client") as threads,
        ):
            calls = {
                "gemini": {"async": _async_calls(gemini), "sync": _sync_calls(gemini_sync, threads)},
                "vertex": {"async": _async_calls(vertex), "sync": _sync_calls(vertex_sync, threads)},
            }
            await asyncio.gather(
                *(one(calls[b], b, n) for b in ("gemini", "vertex") for n in range(LIFECYCLES_PER_BACKEND))
            )
            clients = (gemini, vertex, gemini_sync, vertex_sync)
            requests_sent = sum(client.driver.request_count for client in clients)
    # A create stalled before the service may still be held: let every one end (abandoned, or
    # landed) before the records are read, so that a late landing is counted.
    last_create = max(o.get("create_started", 0.0) for o in outcomes)
    await asyncio.sleep(max(0.0, last_create + STALL + 0.5 - time.monotonic()))
    return {"outcomes": outcomes, "restart": restart, "requests_sent": requests_sent}


def test_200_lifecycles_survive_faults_and_a_killed_emulator(
    emulator_process: EmulatorProcess, tmp_path: Path
) -> None:
    dataset = tmp_path / "numbers.jsonl"
    dataset.write_text(
        "".join(json.dumps({"text_input": q, "output": a}) + "\n" for q, a in NUMBER_SUCCESSOR),
        encoding="utf-8",
    )
    started = time.monotonic()
    result = asyncio.run(_run_all(emulator_process, dataset))
    wall = time.monotonic() - started

    outcomes = result["outcomes"]
    errors = [o for o in outcomes if "error" in o]
    state = emulator_process.admin("state")
    before, after = result["restart"].pop("faults_before"), emulator_process.admin("faults")
    injected = Counter(before["injected"]) + Counter(after["injected"])
    served = before["requests"] + after["requests"]
    records = state["state"]
    counters = records["counters"]
    vertex_jobs = records["sections"].get("vertex", {}).get("tuningJobs", {}).values()
    vertex_names = Counter(job["fields"].get("tunedModelDisplayName") for job in vertex_jobs)
    gemini_left = records["sections"].get("gemini", {}).get("tunedModels", {})
    known = {o.get("job_id") for o in outcomes}
    # A job no lifecycle returned, and no error's handle names, is orphaned.
    handles = {o.get("handle") for o in errors}
    vertex_records = records["sections"].get("vertex", {}).get("tuningJobs", {})
    orphans = [
        job_id for job_id, job in vertex_records.items()
        if job_id.rsplit("/", 1)[-1] not in known
        and (job["fields"].get("labels") or {}).get("tuneport-request-id") not in handles
    ] + list(gemini_left)  # fmt: skip
    figures = {
        "lifecycles (sync client)": f"{len(outcomes)} ({sum(o['client'] == 'sync' for o in outcomes)})",
        "completed": sum(1 for o in outcomes if o.get("deleted")),
        "unhandled exceptions": len(errors),
        "gemini creates committed": counters.get("gemini.tunedModel", 0),
        "vertex creates committed": counters.get("vertex.tuningJob", 0),
        "duplicate vertex jobs": sum(n - 1 for n in vertex_names.values() if n > 1),
        "duplicates (gemini + vertex)": max(0, counters.get("gemini.tunedModel", 0) - LIFECYCLES_PER_BACKEND)
        + max(0, counters.get("vertex.tuningJob", 0) - LIFECYCLES_PER_BACKEND),
        "orphans without a handle": len(orphans),
        "lost jobs": sum(1 for o in outcomes if not o.get("deleted")),
        "untyped exceptions": sum(1 for o in errors if not o.get("typed")),
        "requests sent (incl. retries)": result["requests_sent"],
        "requests served": served,
        "faults injected": dict(sorted(injected.items())),
        "fault rate (excl. latency)": round(
            sum(n for k, n in injected.items() if k != "latency") / served, 3
        ),
        "emulator restart": result["restart"],
        "emulator internal errors": len(state["internalErrors"]),
        "wall seconds": round(wall, 1),
    }
    FIGURES["200 lifecycles, chaos faults, SIGKILL + restart"] = figures

    assert not errors, errors[0]["error"]
    assert not orphans, orphans[:3]
    # The new create faults were drawn (slow answers, stalls, broken 200 bodies).
    assert all(injected.get(kind, 0) > 0 for kind in ("slow", "stall", "html-after")), injected
    assert emulator_process.starts == 2, "the emulator was not restarted mid-run"
    assert result["restart"]
    assert all(o["state"] == "SUCCEEDED" and o["metric_points"] > 0 and o["answer_ok"] for o in outcomes)
    # Zero duplicates: exactly one committed create per lifecycle.
    assert counters.get("gemini.tunedModel") == LIFECYCLES_PER_BACKEND
    assert counters.get("vertex.tuningJob") == LIFECYCLES_PER_BACKEND
    assert vertex_names == Counter({f"chaos-vertex-{n}": 1 for n in range(LIFECYCLES_PER_BACKEND)})
    # Zero lost: every job is where its lifecycle left it, read back through the API.
    assert gemini_left == {}
    assert len({o["job_id"] for o in outcomes}) == 2 * LIFECYCLES_PER_BACKEND
    assert state["internalErrors"] == []
    assert figures["fault rate (excl. latency)"] >= 0.25  # the chaos preset injects 30% (drawn)
    httpx.put(f"{emulator_process.url}/_emulator/faults", json={"spec": None}).raise_for_status()
    with (
        tuneport.connect(**_settings("gemini", emulator_process.url)) as gemini,
        tuneport.connect(**_settings("vertex", emulator_process.url)) as vertex,
    ):
        for outcome in outcomes:
            if outcome["backend"] == "vertex":
                assert vertex.get(outcome["job_id"]).state is JobState.SUCCEEDED
            else:
                with pytest.raises(NotFoundError):
                    gemini.get(outcome["job_id"])
