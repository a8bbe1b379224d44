"""Per-call overhead: ``TuningClient.get`` against a raw httpx GET and google-genai's ``tunings.get``.

    python benchmarks/bench_calls.py [--quick] [--json]

The emulator runs in its own process (so its CPU does not share this
interpreter's GIL) with one ACTIVE Gemini tuned model and one SUCCEEDED Vertex
tuning job seeded through the admin routes.  Each contender then gets the same
resource sequentially over a keep-alive connection:

* ``httpx (raw)``: ``httpx.Client().get(url).json()``, the floor for any
  Python client on httpx;
* ``tuneport``: ``TuningClient.get(job_id)`` (``connect(backend=..., endpoint=url)``),
  which also maps the reply to a typed :class:`~tuneport.TuningJob`;
* ``google-genai``: ``client.tunings.get(name=...)`` (Gemini API mode, ``v1beta``),
  which maps it to its own pydantic ``TuningJob``.

Rounds interleave the contenders (a burst of load on the machine hits them
alike); each round times a batch of calls per contender after a warm-up.  The
figures are the median per-call wall time over the rounds, the median per-call
CPU time of this (client) process, and the ratio to raw httpx (the median of
per-round ratios).  Targets: tuneport at most 1.3x raw httpx, and faster than
google-genai.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emulator_process, median

TARGET_RATIO = 1.3
PARENT = "projects/bench-project/locations/us-central1"
MODEL_ID = "bench-model"
WARMUP = 100


def _time_batch(fn: Callable[[], Any], calls: int) -> tuple[float, float]:
    """(wall, CPU) seconds per call over *calls* calls, with the collector paused."""
    gc.collect()
    gc.disable()
    try:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - wall0) / calls, (time.process_time() - cpu0) / calls
    finally:
        gc.enable()


def _measure(contenders: dict[str, Callable[[], Any]], calls: int, rounds: int) -> dict[str, dict[str, Any]]:
    """Interleaved rounds of timed batches; per contender the medians and the ratios to raw httpx."""
    for fn in contenders.values():
        for _ in range(WARMUP):
            fn()
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            w, c = _time_batch(fn, calls)
            wall[name].append(w)
            cpu[name].append(c)
    rows: dict[str, dict[str, Any]] = {}
    for name in contenders:
        base = f"{name.split(':', 1)[0]}: httpx (raw)"
        ratios = [w / b for w, b in zip(wall[name], wall[base], strict=True)]
        cpu_ratios = [c / b for c, b in zip(cpu[name], cpu[base], strict=True)]
        rows[name] = {
            "us_per_call": round(median(wall[name]) * 1e6, 1),
            "cpu_us_per_call": round(median(cpu[name]) * 1e6, 1),
            "ratio": round(median(ratios), 3),
            "cpu_ratio": round(median(cpu_ratios), 3),
            "over_raw_us": round((median(wall[name]) - median(wall[base])) * 1e6, 1),
            "ratios": [round(r, 3) for r in ratios],
        }
    return rows


def _contenders(
    url: str, vertex_name: str, transport: Any = None
) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    """The five contenders against base *url* (through *transport* if given); and a closer."""
    import httpx

    import tuneport

    raw = httpx.Client(transport=transport)
    gemini = tuneport.connect(backend="gemini", endpoint=url, emulator=True, environ={}, transport=transport)
    vertex = tuneport.connect(
        backend="vertex",
        endpoint=url,
        emulator=True,
        project="bench-project",
        location="us-central1",
        environ={},
        transport=transport,
    )
    gemini_url = f"{url}/v1beta/tunedModels/{MODEL_ID}"
    vertex_url = f"{url}/v1/{vertex_name}"
    # Sanity: tuneport reads the seeded resources.
    assert gemini.get(MODEL_ID).state.value == "SUCCEEDED"
    assert vertex.get(vertex_name).state.value == "SUCCEEDED"
    contenders: dict[str, Callable[[], Any]] = {
        "gemini: httpx (raw)": lambda: raw.get(gemini_url).json(),
        "gemini: tuneport": lambda: gemini.get(MODEL_ID),
    }
    closers = [raw.close, gemini.close, vertex.close]
    try:
        from google import genai
        from google.genai import types

        options = types.HttpOptions(base_url=url, api_version="v1beta")
        if transport is not None:
            genai_http = httpx.Client(transport=transport)
            options = types.HttpOptions(base_url=url, api_version="v1beta", httpx_client=genai_http)
            closers.append(genai_http.close)
        genai_client = genai.Client(api_key="bench-key", http_options=options)
        model_name = f"tunedModels/{MODEL_ID}"
        contenders["gemini: google-genai"] = lambda: genai_client.tunings.get(name=model_name)
    except ImportError:
        print("google-genai is not installed: its row is skipped", file=sys.stderr)
    contenders["vertex: httpx (raw)"] = lambda: raw.get(vertex_url).json()
    contenders["vertex: tuneport"] = lambda: vertex.get(vertex_name)

    def close() -> None:
        for closer in closers:
            closer()

    return contenders, close


def run(quick: bool = False) -> dict[str, Any]:
    # Small batches, many rounds: on a shared machine, load comes in bursts that
    # a fine interleaving spreads over every contender alike.
    calls = 100 if quick else 250
    rounds = 9 if quick else 25

    import httpx

    with emulator_process() as emu:
        emu.admin("POST", "/_emulator/gemini/tunedModels:seed", {"tunedModelId": MODEL_ID, "state": "ACTIVE"})
        job = emu.admin(
            "POST", "/_emulator/vertex/tuningJobs:seed", {"parent": PARENT, "state": "JOB_STATE_SUCCEEDED"}
        )
        vertex_name = str(job["name"])
        contenders, close = _contenders(emu.url, vertex_name)
        seq0 = emu.request_seq()
        loopback = _measure(contenders, calls, rounds)
        requests = emu.request_seq() - seq0
        close()
        # The same replies, recorded once, for the client-only measurement.
        recorded: dict[str, httpx.Response] = {}
        with httpx.Client() as client:
            for path in (f"/v1beta/tunedModels/{MODEL_ID}", f"/v1/{vertex_name}"):
                reply = client.get(emu.url + path)
                recorded[path] = httpx.Response(200, headers=reply.headers, content=reply.content)
        base_url = emu.url

    def handler(request: httpx.Request) -> httpx.Response:
        reply = recorded[request.url.path]
        return httpx.Response(200, headers=reply.headers, content=reply.content)

    contenders, close = _contenders(base_url, vertex_name, transport=httpx.MockTransport(handler))
    in_process = _measure(contenders, calls * 3, rounds)
    close()

    tp, gg = loopback["gemini: tuneport"], loopback.get("gemini: google-genai")
    return {
        "calls_per_batch": calls,
        "rounds": rounds,
        "requests_received": requests,
        "expected_requests": calls * rounds * len(contenders) + WARMUP * len(contenders),
        "rows": loopback,
        "in_process_rows": in_process,
        "target": {"ratio": TARGET_RATIO},
        "met": {
            "gemini <= 1.3x raw httpx": tp["ratio"] <= TARGET_RATIO,
            "vertex <= 1.3x raw httpx": loopback["vertex: tuneport"]["ratio"] <= TARGET_RATIO,
            "faster than google-genai": gg is not None and tp["us_per_call"] < gg["us_per_call"],
        },
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"per-call get on the loopback emulator, {result['calls_per_batch']} calls x {result['rounds']} "
        f"interleaved rounds ({result['requests_received']:,} requests received)",
    ]
    header = f"{'contender':26} {'us/call':>9} {'ratio':>6} {'CPU us':>8} {'CPU ratio':>9}  ratio per round"
    sections = (("loopback emulator", "rows"), ("in-process transport (client CPU only)", "in_process_rows"))
    for title, key in sections:
        lines += [f"-- {title}", header]
        for name, row in result[key].items():
            per_round = " ".join(f"{r:.2f}" for r in row["ratios"])
            lines.append(
                f"{name:26} {row['us_per_call']:9.1f} {row['ratio']:6.2f} {row['cpu_us_per_call']:8.1f} "
                f"{row['cpu_ratio']:9.2f}  {per_round}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    result = run(quick=args.quick)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
