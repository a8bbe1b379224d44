"""Start-up cost of tuneport, against Google's SDKs and ``python -c pass`` in the same run.

    python benchmarks/bench_startup.py [--repeat 15] [--json]

Each case runs in a fresh interpreter, ``--repeat`` times; rounds interleave
the cases so that load on the machine hits them alike.  For each case: the
median wall time, the median CPU time (user + system, from ``os.wait4``: less
sensitive than wall time to other processes on the machine), and the median
peak RSS (``VmHWM``, reported by the child itself).  The import cost of a case
is its figure minus the ``python -c pass`` baseline's in the same round;
ratios are medians of per-round ratios of import costs:

* ``import tuneport`` alone, and with the vertex backend resolved
  (``tuneport.open_backend(backend='vertex', project=...)``: config, plugin,
  settings; the model catalog is left to the clients' pre-flight checks);
* ``tuneport --help``;
* the baselines ``from google import genai`` and ``from vertexai.tuning import sft``.

Targets (issue "Performance"): ``import tuneport`` + resolving the vertex
backend, and ``tuneport --help``, at most 1/5 of google-genai's import cost and
1/20 of vertexai's, in time and in RSS.

Also reported: the ``-X importtime`` cumulative total of ``import tuneport`` and
of the resolve case (the sum of its top-level imports that ``python -c pass``
does not make; median of a few runs, imports only), and which heavy modules
(HTTP stack, CLI stack, plotting, Google SDKs, pydantic) ``import tuneport``
loads: there must be none (exit status 1 otherwise).

The children may write bytecode caches even when this process runs with
``PYTHONDONTWRITEBYTECODE``: the warm-up run of each case then leaves every
module compiled, as an installed wheel's are, instead of compiling the
modules whose cache is stale on every run.

``--cases`` picks cases by key (``import,resolve,help,genai,vertexai``; the
``python -c pass`` baseline always runs), e.g. ``--cases resolve,genai`` for a
quick check of the resolve target without vertexai's three seconds per run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import HERE, child_env, median

BASELINE = "python -c pass"
RESOLVE = "import tuneport + resolve vertex"
HELP = "tuneport --help"
GENAI = "from google import genai"
VERTEXAI = "from vertexai.tuning import sft"
#: What each case runs (after a line that reports the peak RSS at exit).
CASES = {
    BASELINE: "pass",
    "import tuneport": "import tuneport",
    RESOLVE: "import tuneport; tuneport.open_backend(backend='vertex', project='my-project', environ={})",
    # Same as `python -m tuneport.cli --help` (what the `tuneport` script runs).
    HELP: "import runpy, sys; sys.argv = ['tuneport', '--help']; "
    "runpy.run_module('tuneport.cli', run_name='__main__', alter_sys=True)",
    GENAI: "from google import genai",
    VERTEXAI: "from vertexai.tuning import sft",
}
# Peak RSS as the child itself sees it (VmHWM), written to stderr when it exits: the
# rusage of a child counts the pages of the parent it was forked from.
_REPORT_HWM = (
    "import atexit, sys\n"
    "def _hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'): sys.stderr.write('VMHWM_KB=' + line.split()[1] + '\\n')\n"
    "atexit.register(_hwm)\n"
)
#: Keys of ``--cases``.
CASE_KEYS = {
    "import": "import tuneport",
    "resolve": RESOLVE,
    "help": HELP,
    "genai": GENAI,
    "vertexai": VERTEXAI,
}
#: (case, baseline, target ratio of import costs)
TARGETS = (
    (RESOLVE, GENAI, 1 / 5),
    (RESOLVE, VERTEXAI, 1 / 20),
    (HELP, GENAI, 1 / 5),
    (HELP, VERTEXAI, 1 / 20),
)
HEAVY = (
    "httpx",
    "click",
    "rich",
    "matplotlib",
    "plotext",
    "grpc",
    "google.genai",
    "vertexai",
    "google.cloud.aiplatform",
    "google.auth",
    "pydantic",
    "pluggy",
)


def _env() -> dict[str, str]:
    env = child_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # let the warm-up run write the bytecode caches
    return env


def measure(code: str, *, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one run of *code* in a fresh interpreter.

    *env* replaces the children's usual environment (``_env()``).
    """
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _REPORT_HWM + code],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=_env() if env is None else env,
            cwd=HERE,
        )
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        err = stderr.read()
    if child.returncode != 0:
        raise RuntimeError(f"{code!r} exited with {child.returncode}: {err.decode()[-2000:]}")
    match = re.search(rb"VMHWM_KB=(\d+)", err)
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, int(match.group(1)) / 1024 if match else float("nan")


def available(code: str) -> bool:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=_env(), check=False)
    return done.returncode == 0


_IMPORTTIME = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)$")


def _importtime_lines(code: str) -> list[tuple[int, int, str]]:
    """(cumulative µs, depth, module) of each import that *code* makes, per ``-X importtime``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=_env(),
        cwd=HERE,
    )
    lines = []
    for line in result.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            lines.append((int(match.group(1)), len(match.group(2)) // 2, match.group(3)))
    return lines


def importtime_total(module: str) -> float:
    """Cumulative microseconds of ``import module`` per ``-X importtime``, in seconds."""
    for cumulative, _depth, name in _importtime_lines(f"import {module}"):
        if name == module:
            return cumulative / 1e6
    raise RuntimeError(f"no importtime line for {module}")


def importtime_case(code: str, runs: int = 5) -> float:
    """Seconds of imports that *code* makes and ``python -c pass`` does not (median of *runs*).

    The sum of the top-level entries' cumulative times: imports only, not the
    work done between them, but steadier than wall time on a busy machine.
    """
    bare = {name for _c, _d, name in _importtime_lines("pass")}
    totals = [
        sum(c for c, depth, name in _importtime_lines(code) if depth == 0 and name not in bare) / 1e6
        for _ in range(runs)
    ]
    return median(totals)


def heavy_modules() -> list[str]:
    code = "import sys, tuneport; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=child_env()
    ).stdout
    loaded = out.split()
    return sorted(
        m
        for m in loaded
        if m.split(".")[0] in {h.split(".")[0] for h in HEAVY}
        and any(m == h or m.startswith(h + ".") for h in HEAVY)
    )


def _ratio(values: list[float], bases: list[float]) -> float:
    ratios = [v / b for v, b in zip(values, bases, strict=True) if b > 0]
    return median(ratios) if ratios else float("nan")


def run(quick: bool = False, repeat: int | None = None, only: list[str] | None = None) -> dict[str, Any]:
    repeat = repeat or (5 if quick else 15)
    wanted = {BASELINE, *(CASE_KEYS[key] for key in only)} if only else set(CASES)
    chosen = {name: command for name, command in CASES.items() if name in wanted}
    cases = {name: command for name, command in chosen.items() if available(command)}
    missing = sorted(set(chosen) - set(cases))
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    rss: dict[str, list[float]] = {name: [] for name in cases}
    for command in cases.values():
        measure(command)  # warm the file cache and the bytecode cache
    for _ in range(repeat):
        for name, command in cases.items():
            seconds, cpu_seconds, mb = measure(command)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
            rss[name].append(mb)
    # Import cost: the case minus the bare interpreter of the same round.
    net_wall = {n: [w - b for w, b in zip(wall[n], wall[BASELINE], strict=True)] for n in cases}
    net_cpu = {n: [c - b for c, b in zip(cpu[n], cpu[BASELINE], strict=True)] for n in cases}
    net_rss = {n: [r - b for r, b in zip(rss[n], rss[BASELINE], strict=True)] for n in cases}
    rows = {
        name: {
            "median_ms": round(median(wall[name]) * 1000, 1),
            "import_ms": round(median(net_wall[name]) * 1000, 1),
            "cpu_ms": round(median(cpu[name]) * 1000, 1),
            "import_cpu_ms": round(median(net_cpu[name]) * 1000, 1),
            "peak_rss_mb": round(median(rss[name]), 1),
            "import_rss_mb": round(median(net_rss[name]), 1),
        }
        for name in cases
    }
    comparisons = []
    for case, base, target in TARGETS:
        if case not in cases or base not in cases:
            continue
        time_ratio = _ratio(net_wall[case], net_wall[base])
        cpu_ratio = _ratio(net_cpu[case], net_cpu[base])
        rss_ratio = _ratio(net_rss[case], net_rss[base])
        comparisons.append(
            {
                "case": case,
                "baseline": base,
                "target": round(target, 4),
                "time_ratio": round(time_ratio, 4),
                "cpu_ratio": round(cpu_ratio, 4),
                "rss_ratio": round(rss_ratio, 4),
                "time_met": time_ratio <= target,
                "rss_met": rss_ratio <= target,
            }
        )
    return {
        "repeat": repeat,
        "rows": rows,
        "comparisons": comparisons,
        "missing_baselines": missing,
        "importtime_tuneport_ms": round(importtime_total("tuneport") * 1000, 2),
        "importtime_resolve_ms": (
            round(importtime_case(CASES[RESOLVE]) * 1000, 1) if RESOLVE in cases else None
        ),
        "heavy_modules_loaded_by_import_tuneport": heavy_modules(),
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"start-up, median of {result['repeat']} fresh interpreters per case (interleaved rounds)",
        f"{'case':34} {'wall ms':>8} {'import ms':>10} {'import CPU ms':>14} {'RSS MB':>7} {'import MB':>10}",
    ]
    for name, row in result["rows"].items():
        lines.append(
            f"{name:34} {row['median_ms']:8.1f} {row['import_ms']:10.1f} {row['import_cpu_ms']:14.1f} "
            f"{row['peak_rss_mb']:7.1f} {row['import_rss_mb']:10.1f}"
        )
    for c in result["comparisons"]:
        lines.append(
            f"{c['case']} / {c['baseline']}: time {c['time_ratio']:.3f} (CPU {c['cpu_ratio']:.3f}), "
            f"RSS {c['rss_ratio']:.3f} "
            f"(target <= {c['target']:.3f}: time {'met' if c['time_met'] else 'MISSED'}, "
            f"RSS {'met' if c['rss_met'] else 'MISSED'})"
        )
    if result["missing_baselines"]:
        lines.append(f"not installed (skipped): {', '.join(result['missing_baselines'])}")
    lines.append(f"-X importtime cumulative for 'import tuneport': {result['importtime_tuneport_ms']:.1f} ms")
    if result.get("importtime_resolve_ms") is not None:
        lines.append(
            f"-X importtime, imports of '{RESOLVE}' beyond 'python -c pass': "
            f"{result['importtime_resolve_ms']:.1f} ms"
        )
    heavy = result["heavy_modules_loaded_by_import_tuneport"] or "none"
    lines.append(f"heavy modules loaded by 'import tuneport': {heavy}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None, help="runs per case (default 15, quick 5)")
    parser.add_argument("--quick", action="store_true", help="5 runs per case")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--cases",
        default=None,
        help=f"comma-separated cases to run besides 'python -c pass': {','.join(CASE_KEYS)} (default: all)",
    )
    args = parser.parse_args(argv)
    only = [key.strip() for key in args.cases.split(",") if key.strip()] if args.cases else None
    unknown = sorted(set(only or ()) - set(CASE_KEYS))
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}; choose from {', '.join(CASE_KEYS)}")
    result = run(quick=args.quick, repeat=args.repeat, only=only)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 1 if result["heavy_modules_loaded_by_import_tuneport"] else 0


if __name__ == "__main__":
    sys.exit(main())
