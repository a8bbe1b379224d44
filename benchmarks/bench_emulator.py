"""Emulator throughput: requests per second for ``get`` with 50 concurrent keep-alive clients.

    python benchmarks/bench_emulator.py [--quick] [--clients 50] [--seconds 10] [--json]

The emulator runs in its own process (``_emulator_proc.py``); the load comes
from another process: an asyncio loop driving ``--clients`` keep-alive HTTP/1.1
connections, each sending the next GET as soon as the previous answer is read
(a closed loop, like ``wrk``).  The load generator writes pre-built requests and
reads replies by ``Content-Length`` without parsing JSON, so that it costs far
less CPU than the server and the figure is the emulator's.

Reported, for a Gemini tuned-model get and a Vertex tuning-job get (each
answer checked for status 200 and a non-empty JSON body): requests per second
over a fixed duration after a warm-up, latency percentiles (p50, p90, p99, max)
measured per request by the load generator, and the CPU each process used.
The machine has 2 cores; the emulator is one Python process (a thread per
connection under one GIL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import child_env, emulator_process, percentile

PARENT = "projects/bench-project/locations/us-central1"
MODEL_ID = "bench-model"


# --- the load generator (a child process) -----------------------------------------------


async def _client(
    host: str, port: int, request: bytes, deadline: float, warm_until: float, latencies: list[float]
) -> int:
    """Send *request* in a closed loop until *deadline*; latencies after *warm_until*; errors."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    loop_time = time.perf_counter
    try:
        while True:
            start = loop_time()
            if start >= deadline:
                return errors
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            end = loop_time()
            if not status_line.startswith(b"HTTP/1.1 200") or not body.startswith(b"{"):
                errors += 1
            if start >= warm_until:
                latencies.append(end - start)
    finally:
        writer.close()


async def _load(url: str, path: str, clients: int, seconds: float, warmup: float) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: */*\r\nUser-Agent: bench\r\n\r\n"
    ).encode()
    now = time.perf_counter()
    warm_until, deadline = now + warmup, now + warmup + seconds
    latencies: list[float] = []
    cpu0 = time.process_time()
    errors = await asyncio.gather(
        *(_client(host, port, request, deadline, warm_until, latencies) for _ in range(clients))
    )
    # Requests that started before the deadline and ended after it are in the latencies too:
    # the window is the requests' start times, [warm_until, deadline).
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "errors": sum(errors),
        "latencies": latencies,
        "cpu_s": time.process_time() - cpu0,
    }


def child(url: str, path: str, clients: int, seconds: float, warmup: float) -> None:
    result = asyncio.run(_load(url, path, clients, seconds, warmup))
    lat = result.pop("latencies")
    result.update(
        p50_ms=percentile(lat, 50) * 1000,
        p90_ms=percentile(lat, 90) * 1000,
        p99_ms=percentile(lat, 99) * 1000,
        max_ms=max(lat) * 1000 if lat else float("nan"),
    )
    print(json.dumps(result))


# --- the parent ---------------------------------------------------------------------------


def _drive(emu: Any, path: str, clients: int, seconds: float, warmup: float) -> dict[str, Any]:
    cpu0 = emu.cpu_seconds()
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            emu.url,
            path,
            str(clients),
            str(seconds),
            str(warmup),
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=seconds + warmup + 120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-4000:]}")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["emulator_cpu_s"] = emu.cpu_seconds() - cpu0
    row["rps"] = row["requests"] / row["seconds"]
    row["emulator_threads_at_end"] = emu.threads()
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items() if k not in ("seconds",)}


def run(quick: bool = False, *, clients: int = 50, seconds: float | None = None) -> dict[str, Any]:
    duration = seconds if seconds is not None else (5.0 if quick else 10.0)
    warmup = 1.0 if quick else 2.0
    rows: dict[str, dict[str, Any]] = {}
    with emulator_process() as emu:
        emu.admin("POST", "/_emulator/gemini/tunedModels:seed", {"tunedModelId": MODEL_ID, "state": "ACTIVE"})
        job = emu.admin(
            "POST", "/_emulator/vertex/tuningJobs:seed", {"parent": PARENT, "state": "JOB_STATE_SUCCEEDED"}
        )
        paths = {
            "gemini get": f"/v1beta/tunedModels/{MODEL_ID}",
            "vertex get": f"/v1/{job['name']}",
        }
        for name, path in paths.items():
            rows[name] = _drive(emu, path, clients, duration, warmup)
        # One connection alone: the emulator's latency without queueing.
        rows["gemini get, 1 client"] = _drive(emu, paths["gemini get"], 1, min(duration, 3.0), 0.5)
    return {"clients": clients, "seconds": duration, "warmup_s": warmup, "rows": rows}


def report(result: dict[str, Any]) -> str:
    lines = [
        f"emulator get, {result['clients']} keep-alive clients, {result['seconds']} s after "
        f"{result['warmup_s']} s of warm-up",
        f"{'route':22} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'errors':>6} {'emu CPU s':>9} {'load CPU s':>10}",
    ]
    for name, row in result["rows"].items():
        lines.append(
            f"{name:22} {row['rps']:8.0f} {row['p50_ms']:8.2f} {row['p90_ms']:8.2f} {row['p99_ms']:8.2f} "
            f"{row['max_ms']:8.2f} {row['errors']:6d} {row['emulator_cpu_s']:9.2f} {row['cpu_s']:10.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s instead of 10 s")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, path, clients, seconds, warmup = args.child
        child(url, path, int(clients), float(seconds), float(warmup))
        return 0
    result = run(quick=args.quick, clients=args.clients, seconds=args.seconds)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
