"""Event-loop stall: the longest pause an ``AsyncTuningClient.create`` of a large dataset causes.

    python benchmarks/bench_stall.py [--sizes 40,1000] [--json]

For each size (MB), a Vertex JSONL of that size is generated, and an asyncio
program runs a 5 ms ticker while ``AsyncTuningClient.create`` (vertex, local
file, staging bucket) pre-flights, converts, hashes and uploads it to an
emulator in another process.  The ticker's lateness is the stall: how long
the loop could not run anything else.  Target: at most 20 ms at any size.

The baseline, in the same run, is the shape ``main`` had before issue #12:
the same pre-flight scan and staging preparation called directly on the loop
(what ``create`` did inside a coroutine and inside generator steps).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emulator_process, percentile

TICK = 0.005
TARGET_MS = 20.0
PROJECT = "bench-project"
BUCKET = "gs://bench-bucket"
BASE_MODEL = "gemini-2.5-flash"


def write_dataset(path: Path, megabytes: int) -> int:
    """A Vertex JSONL of at most *megabytes* MB (about 1 kB an example); returns its example count.

    1,000 MB is Vertex's largest training file (10^9 bytes, under a million examples).
    """
    target = megabytes * 1_000_000
    written = count = 0
    with path.open("w", encoding="utf-8") as out:
        block: list[str] = []
        while True:
            question = f"question {count}: " + "lorem ipsum dolor sit amet " * 36
            line = json.dumps(
                {
                    "contents": [
                        {"role": "user", "parts": [{"text": question}]},
                        {"role": "model", "parts": [{"text": f"answer {count} " + "consectetur " * 8}]},
                    ]
                }
            )
            if written + len(line) + 1 > target:
                break
            block.append(line)
            written += len(line) + 1
            count += 1
            if len(block) == 4096:
                out.write("\n".join(block) + "\n")
                block.clear()
        if block:
            out.write("\n".join(block) + "\n")
    return count


async def _measure(work: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """Run *work* beside a 5 ms ticker; the ticker's lateness and the work's wall time."""
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            expected = loop.time() + TICK
            await asyncio.sleep(TICK)
            lags.append(max(loop.time() - expected, 0.0))

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)  # the ticker is running before the work starts
    started = time.perf_counter()
    try:
        await work()
    finally:
        wall = time.perf_counter() - started
        done.set()
        await tick
    return {
        "max_stall_ms": max(lags) * 1000 if lags else 0.0,
        "p99_stall_ms": percentile(lags, 0.99) * 1000 if lags else 0.0,
        "ticks": float(len(lags)),
        "wall_s": wall,
    }


def _connect(url: str) -> Any:
    import tuneport

    return tuneport.connect_async(
        backend="vertex",
        endpoint=url,
        emulator=True,
        project=PROJECT,
        location="us-central1",
        staging_bucket=BUCKET,
        environ={},
    )


async def tuneport_create(url: str, path: Path) -> dict[str, float]:
    """What tuneport does now: ``create`` with every file step off the loop."""
    async with _connect(url) as client:

        async def work() -> None:
            await client.create(base_model=BASE_MODEL, training_data=path)

        return await _measure(work)


async def on_the_loop(url: str, path: Path) -> dict[str, float]:
    """The baseline: the same pre-flight scan and staging preparation run on the loop (``main``'s shape)."""
    from tuneport_vertex import staging

    async with _connect(url) as client:
        spec = client.spec(base_model=BASE_MODEL, training_data=path)

        async def work() -> None:
            client._check_spec(spec)  # pre-flight: the dataset scan
            prepared = staging.prepare(path, "training_data")  # convert and hash
            prepared.path.unlink(missing_ok=True)

        return await _measure(work)


def run(sizes: list[int]) -> dict[str, Any]:
    """Both shapes at each size, against one emulator process."""
    results: dict[str, Any] = {"target_ms": TARGET_MS, "tick_ms": TICK * 1000, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="tuneport-stall-") as tmp, emulator_process() as emulator:
        for megabytes in sizes:
            path = Path(tmp) / f"train-{megabytes}mb.jsonl"
            examples = write_dataset(path, megabytes)
            entry: dict[str, Any] = {
                "bytes": path.stat().st_size,
                "examples": examples,
                "tuneport": asyncio.run(tuneport_create(emulator.url, path)),
                "baseline_on_loop": asyncio.run(on_the_loop(emulator.url, path)),
            }
            entry["met"] = entry["tuneport"]["max_stall_ms"] <= TARGET_MS
            results["sizes"][str(megabytes)] = entry
            path.unlink()
    return results


def report(results: dict[str, Any]) -> str:
    lines = [
        f"event-loop stall during AsyncTuningClient.create (vertex, local file); "
        f"{results['tick_ms']:.0f} ms ticker, target <= {results['target_ms']:.0f} ms",
        f"{'size':>8} {'examples':>9} {'tuneport max':>13} {'p99':>7} {'wall':>7}  "
        f"{'on-loop max':>12} {'wall':>7}  met",
    ]
    for megabytes, entry in results["sizes"].items():
        now, before = entry["tuneport"], entry["baseline_on_loop"]
        lines.append(
            f"{megabytes + ' MB':>8} {entry['examples']:>9,} {now['max_stall_ms']:>10.1f} ms "
            f"{now['p99_stall_ms']:>4.1f} ms {now['wall_s']:>5.1f} s  {before['max_stall_ms']:>9.0f} ms "
            f"{before['wall_s']:>5.1f} s  {'yes' if entry['met'] else 'NO'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40,1000", help="dataset sizes in MB, comma-separated")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    results = run([int(size) for size in args.sizes.split(",")])
    print(json.dumps(results, indent=2) if args.json else report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
