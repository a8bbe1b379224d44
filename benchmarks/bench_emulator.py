"""Emulator throughput: the emulator against the stdlib server it replaced, 50 keep-alive clients.

    python benchmarks/bench_emulator.py [--quick] [--clients 50] [--seconds 6] [--rounds 5]
                                        [--baseline-commit 333dc80] [--json]

Two emulators run side by side, each in its own process (``_emulator_proc.py``):

* **new**: ``tuneport_emulator`` from this checkout (``emulator/src``);
* **baseline**: the emulator as it was inside tuneport at ``--baseline-commit``
  (333dc80, the hand-made ``http.server`` one), extracted with ``git archive``
  into a temporary directory and run with ``PYTHONPATH`` on that tree's
  ``src``, so that ``tuneport.emulator`` *and* what it imports from tuneport
  (``tuneport.datasets``, ``tuneport.errors``) are the old code.  The child
  reports the file the package came from, and the run stops if it is not in
  that directory.

The load comes from a third process: an asyncio loop driving ``--clients``
keep-alive HTTP/1.1 connections, each sending its next request as soon as the
previous answer is read (a closed loop, like ``wrk``).  It writes pre-built
requests and reads answers framed by ``Content-Length`` or by
``Transfer-Encoding: chunked`` (uvicorn may send either), without parsing
JSON, so that it costs far less CPU than a server and the figure is the
server's.  Each answer must be status 200 with a JSON object body; anything
else (or a connection the server closed) is counted as an error.

Cases:

* ``gemini get``: ``GET /v1beta/tunedModels/{id}`` of a seeded ACTIVE model;
* ``vertex get``: ``GET /v1/{name}`` of a seeded SUCCEEDED tuning job;
* ``gemini create``: ``POST /v1beta/tunedModels?tunedModelId=...`` with 20
  inline examples, each request a new model (its own id and display name);
* ``vertex create``: ``POST /v1/.../tuningJobs`` on a 100-example JSONL
  staged in the emulated Cloud Storage beforehand, each request a new job
  (its own display name): the service reads and checks the dataset;
* ``gemini get, 1 client``: one connection alone, latency without queueing.

Rounds interleave the servers (new first in odd rounds, baseline first in
even ones), so a burst of load from other processes hits both alike.  Each
case reports the median over rounds of requests per second and of p50/p90/p99
latency, and the median of the per-round ratios new / baseline.  Targets
(issue #14): at least 2x the baseline's requests per second and a lower p99,
for each 50-client case.  Each measurement also records the CPU that other
processes used meanwhile (``/proc/stat``, less the emulator's, the load
generator's and this process's own), since the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, EmulatorProcess, child_env, emulator_process, median, percentile

PARENT = "projects/bench-project/locations/us-central1"
MODEL_ID = "bench-model"
BUCKET = "bench-bucket"
DATASET = "bench/train.jsonl"
#: The stdlib server's tree: the last commit before the emulator left tuneport (issue #14).
BASELINE_COMMIT = "333dc80"
NEW, BASELINE = "new", "baseline"
#: Replaced in a create's path and body by a token unique to the request.
UNIQUE = "@N@"
#: Targets of issue #14, for each case with many clients.
TARGET_RPS_RATIO = 2.0


@dataclass(frozen=True)
class Case:
    """One kind of request, repeated by every client."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    clients: int | None = None  # None: the run's --clients

    def spec(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "body": None if self.body is None else json.dumps(self.body, separators=(",", ":")),
        }


def gemini_create_body() -> dict[str, Any]:
    """A Gemini API create with 20 inline examples (the SDK tutorial's shape)."""
    examples = [{"textInput": f"question {i}: what follows {i}?", "output": f"{i + 1}"} for i in range(20)]
    return {
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "displayName": f"bench {UNIQUE}",
        "tuningTask": {
            "trainingData": {"examples": {"examples": examples}},
            "hyperparameters": {"epochCount": 5, "batchSize": 4, "learningRate": 0.001},
        },
    }


def vertex_create_body() -> dict[str, Any]:
    """A Vertex tuning job on the staged dataset, as tuneport's vertex backend sends it."""
    return {
        "baseModel": "gemini-2.5-flash",
        "tunedModelDisplayName": f"bench {UNIQUE}",
        "supervisedTuningSpec": {
            "trainingDatasetUri": f"gs://{BUCKET}/{DATASET}",
            "hyperParameters": {"epochCount": "3"},
        },
    }


def small_dataset(examples: int = 100) -> bytes:
    """Vertex supervised JSONL: *examples* two-turn conversations (about 120 bytes each)."""
    lines = []
    for i in range(examples):
        example = {
            "contents": [
                {"role": "user", "parts": [{"text": f"What number follows {i}?"}]},
                {"role": "model", "parts": [{"text": f"{i + 1}"}]},
            ]
        }
        lines.append(json.dumps(example))
    return ("\n".join(lines) + "\n").encode()


def cases(job_name: str) -> dict[str, Case]:
    return {
        "gemini get": Case("GET", f"/v1beta/tunedModels/{MODEL_ID}"),
        "vertex get": Case("GET", f"/v1/{job_name}"),
        "gemini create": Case("POST", f"/v1beta/tunedModels?tunedModelId=b-{UNIQUE}", gemini_create_body()),
        "vertex create": Case("POST", f"/v1/{PARENT}/tuningJobs", vertex_create_body()),
        "gemini get, 1 client": Case("GET", f"/v1beta/tunedModels/{MODEL_ID}", clients=1),
    }


# --- the load generator (a child process) -----------------------------------------------


class ConnectionClosed(Exception):
    """The server closed the connection before a whole answer was read."""


async def _read_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes, bool]:
    """One HTTP/1.1 answer: (status line, body, whether the server will close the connection).

    The body is framed by ``Transfer-Encoding: chunked`` (chunk sizes in hex,
    then trailers), by ``Content-Length``, or else by the connection's end.
    """
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionClosed
    length: int | None = None
    chunked = close = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise ConnectionClosed
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    try:
        if chunked:  # RFC 9112 §7.1: chunked wins over any Content-Length
            parts = []
            while True:
                size = int((await reader.readline()).split(b";", 1)[0].strip() or b"x", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)  # the CRLF after each chunk
            body = b"".join(parts)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body, close = await reader.read(), True
    except (asyncio.IncompleteReadError, ValueError) as exc:
        raise ConnectionClosed from exc
    return status_line, body, close


def _request(spec: dict[str, Any], netloc: str, unique: str) -> bytes:
    path = spec["path"].replace(UNIQUE, unique)
    head = f"{spec['method']} {path} HTTP/1.1\r\nHost: {netloc}\r\nAccept: */*\r\nUser-Agent: bench\r\n"
    if spec["body"] is None:
        return (head + "\r\n").encode()
    body = str(spec["body"]).replace(UNIQUE, unique).encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _client(
    index: int, spec: dict[str, Any], deadline: float, warm_until: float, stats: dict[str, Any]
) -> None:
    """Send requests in a closed loop until *deadline*; latencies of those started after *warm_until*."""
    parts = urlsplit(spec["url"])
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    unique = UNIQUE in spec["path"] or (spec["body"] is not None and UNIQUE in spec["body"])
    fixed = _request(spec, parts.netloc, "")
    latencies: list[float] = stats["latencies"]
    clock = time.perf_counter
    reader, writer = await asyncio.open_connection(host, port)
    sent = 0
    try:
        while True:
            start = clock()
            if start >= deadline:
                return
            sent += 1
            # Distinct across clients, requests and runs (the tag names the run).
            request = _request(spec, parts.netloc, f"{spec['tag']}-{index}-{sent}") if unique else fixed
            writer.write(request)
            try:
                status_line, body, close = await _read_answer(reader)
            except (ConnectionClosed, ConnectionError):
                stats["errors"] += 1
                stats["reconnects"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            end = clock()
            status = status_line.split(b" ", 2)[1].decode() if b" " in status_line else "?"
            stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
            if status != "200" or not body.startswith(b"{"):
                stats["errors"] += 1
                if len(stats["samples"]) < 3:
                    shown = body[:200].decode(errors="replace")
                    stats["samples"].append(f"{status_line.decode().strip()} {shown}")
            if start >= warm_until:
                latencies.append(end - start)
            if close:
                writer.close()
                stats["reconnects"] += 1
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    now = time.perf_counter()
    warm_until, deadline = now + spec["warmup"], now + spec["warmup"] + spec["seconds"]
    stats: dict[str, Any] = {"latencies": [], "errors": 0, "reconnects": 0, "statuses": {}, "samples": []}
    await asyncio.gather(*(_client(i, spec, deadline, warm_until, stats) for i in range(spec["clients"])))
    # Requests that started before the deadline and ended after it are in the latencies too:
    # the window is the requests' start times, [warm_until, deadline).
    return stats


def child(spec: dict[str, Any]) -> None:
    cpu0 = time.process_time()
    stats = asyncio.run(_load(spec))
    lat = stats.pop("latencies")
    stats.update(
        requests=len(lat),
        rps=len(lat) / spec["seconds"],
        p50_ms=percentile(lat, 50) * 1000,
        p90_ms=percentile(lat, 90) * 1000,
        p99_ms=percentile(lat, 99) * 1000,
        max_ms=max(lat) * 1000 if lat else float("nan"),
        cpu_s=time.process_time() - cpu0,
    )
    print(json.dumps(stats))


# --- the parent ---------------------------------------------------------------------------


def _machine_busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def drive(
    emu: EmulatorProcess, case: Case, *, clients: int, seconds: float, warmup: float, tag: str
) -> dict[str, Any]:
    """Run the load generator against *emu* for one case; its figures."""
    spec = {
        **case.spec(),
        "url": emu.url,
        "clients": case.clients or clients,
        "seconds": seconds,
        "warmup": warmup,
        "tag": tag,
    }
    cpu0, busy0, ours0, wall0 = emu.cpu_seconds(), _machine_busy_seconds(), _own_cpu_seconds(), time.time()
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=seconds + warmup + 120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-4000:]}")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    wall = time.time() - wall0
    emulator_cpu = emu.cpu_seconds() - cpu0
    others = (_machine_busy_seconds() - busy0) - (_own_cpu_seconds() - ours0) - emulator_cpu
    row["emulator_cpu_s"] = emulator_cpu
    # Per answer, warm-up included: the server's cost, whatever CPU other processes left it.
    answered = sum(row["statuses"].values())
    row["emulator_cpu_us_per_request"] = emulator_cpu * 1e6 / answered if answered else float("nan")
    row["emulator_threads_at_end"] = emu.threads()
    # Cores' worth of CPU that other processes used meanwhile (0 on an idle machine).
    row["other_load_cores"] = max(0.0, others) / wall
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}


@contextlib.contextmanager
def baseline_tree(commit: str = BASELINE_COMMIT) -> Iterator[Path]:
    """``src`` of *commit*, extracted into a temporary directory (removed on exit)."""
    with tempfile.TemporaryDirectory(prefix="tuneport-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "src"], capture_output=True, check=False
        )
        if archive.returncode != 0:
            raise RuntimeError(f"git archive {commit} failed: {archive.stderr.decode(errors='replace')}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp) / "src"


@contextlib.contextmanager
def both_emulators(commit: str, **options: Any) -> Iterator[dict[str, EmulatorProcess]]:
    """The new emulator and the baseline at *commit*, each in its own process, checked for origin."""
    with (
        baseline_tree(commit) as src,
        emulator_process(**options) as new,
        emulator_process(package="tuneport.emulator", pythonpath=str(src), **options) as old,
    ):
        check_origin(old, src)
        check_origin(new, ROOT / "emulator" / "src")
        yield {NEW: new, BASELINE: old}


def check_origin(emu: EmulatorProcess, tree: Path) -> None:
    """Refuse to measure an emulator imported from anywhere but *tree*."""
    if not Path(emu.origin).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"the emulator came from {emu.origin}, not from {tree}")


def prepare(emu: EmulatorProcess) -> str:
    """Seed the get cases' model and job and stage the create's dataset; the job's name."""
    emu.admin("POST", "/_emulator/gemini/tunedModels:seed", {"tunedModelId": MODEL_ID, "state": "ACTIVE"})
    job = emu.admin(
        "POST", "/_emulator/vertex/tuningJobs:seed", {"parent": PARENT, "state": "JOB_STATE_SUCCEEDED"}
    )
    emu.upload(BUCKET, DATASET, small_dataset())
    return str(job["name"])


def _row(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds of one server's figures for one case, with every round kept."""
    keys = (
        "rps",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "emulator_cpu_s",
        "emulator_cpu_us_per_request",
        "cpu_s",
        "other_load_cores",
    )
    row: dict[str, Any] = {k: round(median([r[k] for r in rounds]), 3) for k in keys}
    row["errors"] = sum(r["errors"] for r in rounds)
    row["requests"] = sum(r["requests"] for r in rounds)
    row["rounds"] = rounds
    return row


def run(
    quick: bool = False,
    *,
    clients: int = 50,
    seconds: float | None = None,
    rounds: int | None = None,
    commit: str = BASELINE_COMMIT,
) -> dict[str, Any]:
    duration = seconds if seconds is not None else (2.0 if quick else 6.0)
    warmup = 0.5 if quick else 1.5
    # Five rounds: on a shared 2-core machine one round's ratio can be off by 2x either way.
    repeat = rounds if rounds is not None else (1 if quick else 5)
    measured: dict[str, dict[str, list[dict[str, Any]]]] = {}
    origins: dict[str, str] = {}
    run_tag = f"{os.getpid() % 10000}"
    with both_emulators(commit) as servers:
        names = {server: prepare(emu) for server, emu in servers.items()}
        origins = {server: emu.origin for server, emu in servers.items()}
        for r in range(repeat):
            order = [NEW, BASELINE] if r % 2 == 0 else [BASELINE, NEW]
            for case_name in cases(""):
                for server in order:
                    case = cases(names[server])[case_name]
                    alone = case.clients == 1
                    row = drive(
                        servers[server],
                        case,
                        clients=clients,
                        seconds=min(duration, 3.0) if alone else duration,
                        warmup=min(warmup, 0.5) if alone else warmup,
                        tag=f"r{run_tag}x{r}",
                    )
                    measured.setdefault(case_name, {}).setdefault(server, []).append(row)
    result_cases: dict[str, Any] = {}
    for case_name, by_server in measured.items():
        new, old = by_server[NEW], by_server[BASELINE]
        rps_ratios = [n["rps"] / o["rps"] for n, o in zip(new, old, strict=True) if o["rps"]]
        p99_ratios = [n["p99_ms"] / o["p99_ms"] for n, o in zip(new, old, strict=True) if o["p99_ms"]]
        entry: dict[str, Any] = {
            "clients": cases("")[case_name].clients or clients,
            NEW: _row(new),
            BASELINE: _row(old),
            "rps_ratio": round(median(rps_ratios), 3),
            "p99_ratio": round(median(p99_ratios), 3),
            "rps_ratios": [round(x, 3) for x in rps_ratios],
            "p99_ratios": [round(x, 3) for x in p99_ratios],
            # Not a target: how much less CPU the new server spends per request (> 1: less).
            "cpu_per_request_ratio": round(
                median(
                    [
                        o["emulator_cpu_us_per_request"] / n["emulator_cpu_us_per_request"]
                        for n, o in zip(new, old, strict=True)
                    ]
                ),
                3,
            ),
        }
        if entry["clients"] > 1:  # the targets are stated for the concurrent cases
            entry["met"] = {
                "throughput": entry["rps_ratio"] >= TARGET_RPS_RATIO and entry[NEW]["errors"] == 0,
                "p99": entry[NEW]["p99_ms"] < entry[BASELINE]["p99_ms"] and entry[NEW]["errors"] == 0,
            }
        result_cases[case_name] = entry
    return {
        "clients": clients,
        "seconds": duration,
        "warmup_s": warmup,
        "rounds": repeat,
        "baseline_commit": commit,
        "commit": head_commit(),
        "origins": origins,
        "target_rps_ratio": TARGET_RPS_RATIO,
        "cases": result_cases,
        "all_met": all(all(c["met"].values()) for c in result_cases.values() if "met" in c),
    }


def head_commit() -> str:
    """The checkout's commit, marked when the emulator's source differs from it (work in progress)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--", "emulator/src"], capture_output=True, text=True, check=False
    )
    dirty = " + uncommitted emulator changes" if changed.stdout.strip() else ""
    return (head.stdout.strip() or "?") + dirty


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(result: dict[str, Any]) -> str:
    lines = [
        f"emulator at {result['commit']} against the stdlib server at {result['baseline_commit']}: "
        f"{result['clients']} keep-alive clients, {result['seconds']:g} s after {result['warmup_s']:g} s "
        f"of warm-up, median of {result['rounds']} round(s)",
        f"{'case':22} {'server':8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'errors':>6} {'CPU/req':>7} {'others':>6}",
    ]
    for name, entry in result["cases"].items():
        for server in (NEW, BASELINE):
            row = entry[server]
            lines.append(
                f"{name:22} {server:8} {row['rps']:8.0f} {row['p50_ms']:8.2f} {row['p90_ms']:8.2f} "
                f"{row['p99_ms']:8.2f} {row['max_ms']:8.1f} {row['errors']:6d} "
                f"{row['emulator_cpu_us_per_request']:5.0f}us "
                f"{row['other_load_cores']:6.2f}"
            )
        verdict = ""
        if "met" in entry:
            verdict = (
                f" (>= {result['target_rps_ratio']:g}x: {_verdict(entry['met']['throughput'])}; "
                f"lower p99: {_verdict(entry['met']['p99'])})"
            )
        lines.append(
            f"{'':22} ratio    {entry['rps_ratio']:7.2f}x req/s, p99 x{entry['p99_ratio']:.2f}{verdict}; "
            f"{entry['cpu_per_request_ratio']:.2f}x less CPU per request"
        )
    lines.append(f"all targets: {_verdict(result['all_met'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of 2 s per case, not five of 6 s")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    result = run(
        quick=args.quick,
        clients=args.clients,
        seconds=args.seconds,
        rounds=args.rounds,
        commit=args.baseline_commit,
    )
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
