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
Every tenth vertex lifecycle (half of them sync) stages its own dataset of over
8 MiB, so it goes up through a resumable session in two chunks or more, and the
upload route loses answers (the final chunk's included) and stores chunks only
in part (``short-store``: a ``308`` with a shorter ``Range``).

Then, from the emulator's own records: every create happened exactly once
(the creation counters equal the number of lifecycles; every vertex job's
display name occurs once), every job succeeded and was cleaned up, and no
handler raised; and every staged object is complete, its bytes those the client
sent (md5).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from chaos_helpers import FIGURES, STALL, UPLOAD_FAULTS, EmulatorProcess

import tuneport
from tuneport import NotFoundError, RetryPolicy, TuneportError
from tuneport.datasets import convert_dataset
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
#: One vertex lifecycle in this many stages a large dataset (alternately sync and async).
LARGE_EVERY = 10
#: A large dataset (as written; Vertex JSONL is larger): over the 8 MiB one-request limit.
LARGE_BYTES = 8 * 1024 * 1024 + 512 * 1024
UPLOAD_ROUTE = "storage.objects.upload"


def _large(backend: str, number: int) -> bool:
    """Vertex lifecycles 3, 10, 23, 30…: half through the sync client (every fifth), half async."""
    return backend == "vertex" and number % LARGE_EVERY == (0 if (number // LARGE_EVERY) % 2 else 3)


def _large_dataset(path: Path, number: int) -> Path:
    """NUMBER_SUCCESSOR, padded with a few long examples of this lifecycle's own (so its own object).

    Few: the emulated training takes a step per batch, and the lifecycle should not take longer.
    """
    lines = [json.dumps({"text_input": q, "output": a}) + "\n" for q, a in NUMBER_SUCCESSOR]
    size, index = sum(map(len, lines)), 0
    filler = "lorem ipsum " * (LARGE_BYTES // 12 // 40)
    while size < LARGE_BYTES:
        line = json.dumps({"text_input": f"pad {number}-{index} {filler}", "output": f"{index}"}) + "\n"
        lines.append(line)
        size, index = size + len(line), index + 1
    path.write_text("".join(lines), encoding="utf-8")
    return path


class UploadLog:
    """Polls the emulator's request log (1000 entries) and keeps the upload route's entries."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.emulator = emulator
        self.entries: dict[tuple[int, int], dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upload-log", daemon=True)

    def __enter__(self) -> UploadLog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(0.1):  # the log is bounded: read it before it turns over
            self.poll()

    def poll(self) -> None:
        starts = self.emulator.starts
        try:
            entries = httpx.get(f"{self.emulator.url}/_emulator/requests", timeout=10).json()["requests"]
        except (httpx.HTTPError, ValueError, KeyError):
            return  # down (killed, restarting): the next poll reads the new process
        for entry in entries:
            if entry.get("route") == UPLOAD_ROUTE:
                self.entries[(starts, entry["seq"])] = entry

    def figures(self) -> dict[str, int]:
        entries = list(self.entries.values())
        chunks = [e for e in entries if _sent(e) > 0]
        queries = [e for e in entries if _sent(e) == 0]
        # A status query that finds the session finished: the answer to its final chunk was lost.
        finished = {_upload_id(e) for e in queries if e.get("status") == 200}
        return {
            "sessions": len({_upload_id(e) for e in entries}),
            "chunks": len(chunks),
            "chunks short-stored (308)": sum(
                1 for e in chunks if e.get("fault") == "short-store" and e.get("status") == 308
            ),
            "chunk answers lost": sum(1 for e in chunks if e.get("fault") in ("reset-after", "503-after")),
            "final chunk answers lost": len(finished),
            "status queries": len(queries),
        }


def _sent(entry: dict[str, Any]) -> int:
    """The bytes a PUT carried (the log keeps a large body's size only: ``omitted``)."""
    body = entry.get("body") or {}
    return int(str(body.get("media") or body.get("omitted") or "0 bytes").split(maxsplit=1)[0])


def _upload_id(entry: dict[str, Any]) -> str:
    query = entry.get("query") or {}
    value = query.get("upload_id") or query.get("uploadId") or ""
    return str(value[-1] if isinstance(value, list) else value)


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


async def _run_all(emulator: EmulatorProcess, datasets: Callable[[str, int], Path]) -> dict[str, Any]:
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
                await _lifecycle(calls[kind], backend, number, datasets(backend, number), outcome)
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


def _check_staged(emulator: EmulatorProcess, sources: list[Path], tmp_path: Path) -> dict[str, int]:
    """The staged objects, read back (faults off): each is one of the datasets sent, byte for byte."""
    expected: dict[str, str] = {}  # object name -> base64 md5 of the Vertex JSONL the client sent
    for source in sources:
        converted = tmp_path / f"{source.stem}.vertex.jsonl"
        convert_dataset(str(source), converted, to="vertex")
        data = converted.read_bytes()
        name = f"tuneport/datasets/{hashlib.sha256(data).hexdigest()}.jsonl"
        expected[name] = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    httpx.put(f"{emulator.url}/_emulator/faults", json={"spec": None}).raise_for_status()
    storage = f"{emulator.url}/storage/v1/b/tuneport-chaos/o"
    listed = httpx.get(storage, params={"prefix": "tuneport/datasets/"}, timeout=30).json().get("items", [])
    identical = 0
    for item in listed:
        body = httpx.get(f"{storage}/{quote(item['name'], safe='')}", params={"alt": "media"}, timeout=60)
        md5 = base64.b64encode(hashlib.md5(body.content, usedforsecurity=False).digest()).decode()
        identical += md5 == item["md5Hash"] == expected.get(item["name"])
    names = {item["name"] for item in listed}
    assert names == set(expected), sorted(names ^ set(expected))
    return {"objects": len(listed), "identical": identical}


def test_200_lifecycles_survive_faults_and_a_killed_emulator(
    emulator_process: EmulatorProcess, tmp_path: Path
) -> None:
    dataset = tmp_path / "numbers.jsonl"
    dataset.write_text(
        "".join(json.dumps({"text_input": q, "output": a}) + "\n" for q, a in NUMBER_SUCCESSOR),
        encoding="utf-8",
    )
    large = {
        n: _large_dataset(tmp_path / f"large-{n}.jsonl", n)
        for n in range(LIFECYCLES_PER_BACKEND)
        if _large("vertex", n)
    }
    started = time.monotonic()
    with UploadLog(emulator_process) as uploads:
        result = asyncio.run(
            _run_all(emulator_process, lambda backend, n: large[n] if _large(backend, n) else dataset)
        )
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
    staged = _check_staged(emulator_process, [dataset, *large.values()], tmp_path)
    upload_faults = Counter(before["byRoute"].get(UPLOAD_ROUTE, {})) + Counter(
        after["byRoute"].get(UPLOAD_ROUTE, {})
    )
    upload_figures = uploads.figures()
    # Sessions are counted in the emulator's state, which survives the SIGKILL: the request
    # log is polled, bounded and lost with the killed process, so a short session can miss it.
    upload_figures["sessions"] = len(records["sections"].get("storage", {}).get("uploads", {}))
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
        "large datasets (sync)": f"{len(large)} ({sum(n % SYNC_EVERY == 0 for n in large)})",
        "upload faults injected": dict(sorted(upload_faults.items())),
        "uploads (chunks seen in the log, sessions in the state)": upload_figures,
        "staged objects (md5 match)": f"{staged['objects']} ({staged['identical']})",
        "emulator restart": result["restart"],
        "emulator internal errors": len(state["internalErrors"]),
        "wall seconds": round(wall, 1),
    }
    FIGURES["200 lifecycles, chaos faults, SIGKILL + restart"] = figures

    assert not errors, errors[0]["error"]
    assert not orphans, orphans[:3]
    # The new create faults were drawn (slow answers, stalls, broken 200 bodies).
    assert all(injected.get(kind, 0) > 0 for kind in ("slow", "stall", "html-after")), injected
    # The upload faults were drawn: lost chunk answers (a final chunk's among them), short stores.
    assert all(upload_faults.get(kind, 0) > 0 for kind in UPLOAD_FAULTS), upload_faults
    assert upload_figures["chunks short-stored (308)"] > 0, upload_figures
    assert upload_figures["chunk answers lost"] > 0, upload_figures
    assert upload_figures["final chunk answers lost"] > 0, upload_figures
    # Every large dataset went up in two chunks or more; every staged object is whole and the same.
    assert upload_figures["sessions"] >= len(large), upload_figures
    assert upload_figures["chunks"] >= 2 * len(large), upload_figures
    assert staged["objects"] == staged["identical"] == 1 + len(large), staged
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
        # Every lifecycle ended with delete: a deleted job reads as not found on both
        # backends (Vertex keeps the job's record; its tuned model is gone, see docs/portability.md).
        for outcome in outcomes:
            client = vertex if outcome["backend"] == "vertex" else gemini
            with pytest.raises(NotFoundError):
                client.get(outcome["job_id"])
