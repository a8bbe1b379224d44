"""Fan-out: one ``AsyncTuningClient`` per backend waiting on 1,000 running jobs at once.

    python benchmarks/bench_fanout.py [--quick] [--jobs 1000] [--interval 5] [--preload FILE] [--json]

The emulator runs in its own process on a scaled clock.  Half the jobs are
Gemini tuned models seeded CREATING, half Vertex tuning jobs seeded RUNNING
(admin routes), at progress points spread so that they finish at different
times over the run.  A fresh interpreter (so that its peak RSS is the
fan-out's) then runs ``asyncio.gather`` over ``client.wait(job,
poll=PollPolicy.fixed(interval))`` for every job.

Reported:

* requests the emulator received (its request log's sequence numbers), per
  backend from the clients' ``driver.request_count``, and the polls
  ``wait()`` made (its progress callback);
* the minimum: for each job, one poll per interval from the start until the
  first poll after it finished, ``ceil(d / interval) + 1`` where ``d`` is the
  wall time from the start to the job's end (from its reported end time and
  the emulator clock's speed);
* wall time, the lag between a job's end and its ``wait()`` returning, the
  most threads the client process had (the kernel's count), and its peak RSS.

Targets: at most 1.1x the minimum requests, no thread per job, RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import child_env, emulator_process, median, percentile

TARGET_REQUEST_RATIO = 1.1
TARGET_RSS_MB = 300.0
PROJECT = "bench-project"
PARENT = f"projects/{PROJECT}/locations/us-central1"
#: Steps of every seeded job (one example, batch 4, so one step per epoch): 30 s set-up + 20 x 6 s.
EPOCHS = 20


def _seed(emu: Any, jobs: int) -> list[dict[str, str]]:
    """Seed *jobs* running jobs, half per backend; the longest first (the clock runs meanwhile)."""
    seeded: list[dict[str, str]] = []
    half = jobs // 2
    for i in range(jobs):
        backend = "gemini" if i < half else "vertex"
        index = i if backend == "gemini" else i - half
        count = half if backend == "gemini" else jobs - half
        progress = round(0.9 * index / max(1, count - 1), 4)  # 0 .. 0.9: ends spread over the run
        if backend == "gemini":
            body = {
                "tunedModelId": f"bench-fanout-{index:04d}",
                "state": "CREATING",
                "progress": progress,
                "tunedModel": {"tuningTask": {"hyperparameters": {"epochCount": EPOCHS}}},
            }
            model = emu.admin("POST", "/_emulator/gemini/tunedModels:seed", body)
            seeded.append({"backend": "gemini", "id": str(model["name"]).removeprefix("tunedModels/")})
        else:
            body = {
                "parent": PARENT,
                "state": "JOB_STATE_RUNNING",
                "progress": progress,
                "tuningJob": {"supervisedTuningSpec": {"hyperParameters": {"epochCount": EPOCHS}}},
            }
            job = emu.admin("POST", "/_emulator/vertex/tuningJobs:seed", body)
            seeded.append({"backend": "vertex", "id": str(job["name"])})
    return seeded


# --- the child: the fan-out itself, in a fresh interpreter --------------------------------


def _preload(path: Path) -> None:
    """Run a Python file in the measuring process first (e.g. a candidate patch, monkeypatched)."""
    import runpy

    runpy.run_path(str(path), run_name="__preload__")


async def _fan_out(url: str, jobs: list[dict[str, str]], interval: float, speed: float) -> dict[str, Any]:
    import threading

    import httpx
    from _common import thread_count, vm_hwm_mb

    import tuneport
    from tuneport import PollPolicy

    clients = {
        "gemini": tuneport.connect_async(backend="gemini", endpoint=url, emulator=True, environ={}),
        "vertex": tuneport.connect_async(
            backend="vertex", endpoint=url, emulator=True, project=PROJECT, location="us-central1", environ={}
        ),
    }
    polls = [0] * len(jobs)
    returned = [0.0] * len(jobs)
    results: list[Any] = [None] * len(jobs)
    threads = {"max_kernel": thread_count(), "max_python": threading.active_count()}
    rss_before = vm_hwm_mb()
    done = asyncio.Event()

    async def sample_threads() -> None:
        while not done.is_set():
            threads["max_kernel"] = max(threads["max_kernel"], thread_count())
            threads["max_python"] = max(threads["max_python"], threading.active_count())
            await asyncio.sleep(0.02)

    async with httpx.AsyncClient() as admin:
        clock = (await admin.get(f"{url}/_emulator/clock")).json()
    t0_emulator = float(clock["epochSeconds"])
    start = time.monotonic()

    async def wait_one(i: int, job: dict[str, str]) -> None:
        def on_poll(_: Any) -> None:
            polls[i] += 1

        results[i] = await clients[job["backend"]].wait(
            job["id"], poll=PollPolicy.fixed(interval), progress=on_poll, timeout=300
        )
        returned[i] = time.monotonic() - start

    sampler = asyncio.create_task(sample_threads())
    await asyncio.gather(*(wait_one(i, job) for i, job in enumerate(jobs)))
    wall = time.monotonic() - start
    done.set()
    await sampler

    per_job = []
    for i, job in enumerate(jobs):
        result = results[i]
        end = result.end_time.timestamp() if result.end_time is not None else None
        # Wall seconds from the start until the job ended (emulator seconds / speed).
        ends_at = max(0.0, (end - t0_emulator) / speed) if end is not None else None
        minimum = 1 if not ends_at else math.ceil(ends_at / interval) + 1
        per_job.append(
            {
                "backend": job["backend"],
                "state": result.state.value,
                "polls": polls[i],
                "minimum_polls": minimum,
                "ends_at": ends_at,
                "lag": None if ends_at is None else returned[i] - ends_at,
            }
        )
    requests = {name: client.driver.request_count for name, client in clients.items()}
    for client in clients.values():
        await client.aclose()
    return {
        "wall_s": wall,
        "requests_by_backend": requests,
        "jobs": per_job,
        "threads": threads,
        "rss_before_mb": rss_before,
        "peak_rss_mb": vm_hwm_mb(),
    }


def child(url: str, jobs_file: Path, interval: float, speed: float, preload: Path | None) -> None:
    if preload is not None:
        _preload(preload)
    jobs = json.loads(jobs_file.read_text())
    print(json.dumps(asyncio.run(_fan_out(url, jobs, interval, speed))))


# --- the parent ---------------------------------------------------------------------------


def run(
    quick: bool = False, *, jobs: int = 1000, interval: float = 5.0, preload: Path | None = None
) -> dict[str, Any]:
    # Scaled clock: a job seeded at progress 0 has ~117 emulator seconds left (vertex: + 20 s of
    # post-processing), so jobs end from ~3 s to ~46 s into the run at speed 3 (half that at 6).
    speed = 6.0 if quick else 3.0
    with emulator_process(clock="scaled", speed=speed) as emu, tempfile.TemporaryDirectory() as tmp:
        seed_start = time.perf_counter()
        seeded = _seed(emu, jobs)
        seed_s = time.perf_counter() - seed_start
        jobs_file = Path(tmp) / "jobs.json"
        jobs_file.write_text(json.dumps(seeded))
        seq0 = emu.request_seq()
        cpu0 = emu.cpu_seconds()
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                emu.url,
                str(jobs_file),
                str(interval),
                str(speed),
                *(["--preload", str(preload)] if preload else []),
            ],
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"fan-out child failed:\n{done.stderr[-4000:]}")
        received = emu.request_seq() - seq0
        emulator_cpu = emu.cpu_seconds() - cpu0
        emulator_threads = emu.threads()
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    per_job = data.pop("jobs")
    by_backend: dict[str, dict[str, Any]] = {}
    for backend in ("gemini", "vertex"):
        rows = [j for j in per_job if j["backend"] == backend]
        if not rows:
            continue
        minimum = sum(j["minimum_polls"] for j in rows)
        sent = data["requests_by_backend"][backend]
        by_backend[backend] = {
            "jobs": len(rows),
            "requests": sent,
            "polls": sum(j["polls"] for j in rows),
            "minimum": minimum,
            "ratio": round(sent / minimum, 3),
            "states": sorted({j["state"] for j in rows}),
        }
    minimum = sum(j["minimum_polls"] for j in per_job)
    lags = [j["lag"] for j in per_job if j["lag"] is not None]
    polls = sum(j["polls"] for j in per_job)
    result = {
        "jobs": len(per_job),
        "interval_s": interval,
        "emulator_speed": speed,
        "seed_s": round(seed_s, 2),
        "wall_s": round(data["wall_s"], 2),
        "longest_job_s": round(max(j["ends_at"] or 0 for j in per_job), 2),
        "requests_received": received,
        "requests_sent": sum(data["requests_by_backend"].values()),
        "polls": polls,
        "minimum_requests": minimum,
        "ratio": round(received / minimum, 3),
        "polls_ratio": round(polls / minimum, 3),
        "by_backend": by_backend,
        "lag_s": {
            "median": round(median(lags), 3),
            "p99": round(percentile(lags, 99), 3),
            "max": round(max(lags), 3),
        },
        "max_threads": data["threads"]["max_kernel"],
        "max_python_threads": data["threads"]["max_python"],
        "rss_before_mb": round(data["rss_before_mb"], 1),
        "peak_rss_mb": round(data["peak_rss_mb"], 1),
        "emulator_cpu_s": round(emulator_cpu, 2),
        "emulator_threads_at_end": emulator_threads,
        "target": {"request_ratio": TARGET_REQUEST_RATIO, "peak_rss_mb": TARGET_RSS_MB},
    }
    # Not a target of the issue, but what makes the request ratio meaningful: a client that
    # falls behind its interval sends fewer requests than the minimum, and answers late —
    # so the lag tells it (a poll every interval answers interval/2 after the end, median).
    result["kept_up"] = kept_up(result)
    result["met"] = {
        "<= 1.1x minimum requests": result["ratio"] <= TARGET_REQUEST_RATIO,
        "no thread per job": result["max_threads"] < 0.1 * result["jobs"],
        "RSS < 300 MB": result["peak_rss_mb"] < TARGET_RSS_MB,
    }
    return result


def kept_up(result: dict[str, Any]) -> bool:
    """Whether ``wait()`` kept to its interval: median lag within 0.6 of it (0.5 expected)."""
    return bool(result["lag_s"]["median"] <= 0.6 * result["interval_s"])


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['jobs']} jobs, poll every {result['interval_s']} s, "
        f"emulator clock x{result['emulator_speed']}",
        f"wall {result['wall_s']} s (longest job {result['longest_job_s']} s); "
        f"lag after a job's end: median {result['lag_s']['median']} s, p99 {result['lag_s']['p99']} s",
        f"requests received {result['requests_received']:,} (sent {result['requests_sent']:,}, "
        f"polls {result['polls']:,}) vs minimum {result['minimum_requests']:,}: "
        f"{result['ratio']:.2f}x (polls {result['polls_ratio']:.2f}x)",
    ]
    for backend, row in result["by_backend"].items():
        lines.append(
            f"  {backend}: {row['jobs']} jobs, {row['requests']:,} requests, {row['polls']:,} polls, "
            f"minimum {row['minimum']:,}: {row['ratio']:.2f}x; final states {', '.join(row['states'])}"
        )
    lines.append(
        f"threads: at most {result['max_threads']} (Python-visible {result['max_python_threads']}); "
        f"peak RSS {result['peak_rss_mb']} MB ({result['rss_before_mb']} MB before the fan-out)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a faster emulator clock (shorter jobs)")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=5.0, help="poll interval (seconds)")
    parser.add_argument(
        "--preload",
        type=Path,
        default=None,
        help="a Python file to run in the measuring process first (to try a patch by monkeypatching)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, jobs_file, interval, speed = args.child
        child(url, Path(jobs_file), float(interval), float(speed), args.preload)
        return 0
    result = run(quick=args.quick, jobs=args.jobs, interval=args.interval, preload=args.preload)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
