"""Time to first answer: a fresh process that imports, connects and gets one tuning job from the emulator.

    python benchmarks/bench_first_answer.py [--quick] [--repeat 15] [--json]

Start-up as users feel it: the whole life of a short script, from ``python``
to the answer, against one emulator process (loopback, ephemeral port) with
one SUCCEEDED Vertex tuning job seeded through the admin routes.  Contenders,
each a fresh interpreter running:

* ``tuneport``: ``import tuneport``, ``tuneport.connect(backend="vertex",
  project=..., location=...)``, ``client.get(job_id)``; the emulator is
  declared as Google's emulators are, by ``TUNEPORT_EMULATOR_HOST=host:port``
  in the child's environment (no endpoint in the code, no credentials);
* ``google-genai``: ``genai.Client(vertexai=True, project=..., location=...,
  credentials=..., http_options=HttpOptions(base_url=url))`` and
  ``client.tunings.get(name=...)``, as the emulator tests point it;
* ``httpx``: ``import httpx``, one ``httpx.get(url)``, ``.json()``: the floor
  for a Python client on httpx;
* ``python -c pass``, to show what the interpreter alone costs.

Each child checks its answer (the job's state) and reports its peak RSS
(``VmHWM``) when it exits.  Rounds interleave the contenders, so a burst of
load on the machine hits them alike; the figures are medians of wall time,
CPU time (user + system, from ``os.wait4``) and peak RSS, and a ratio is the
median of per-round ratios of whole-process figures.

Bytecode is compiled first (``compileall`` over site-packages and the
editable source trees), as ``pip install`` leaves it, so no child pays for
compiling; the children also run without ``PYTHONDONTWRITEBYTECODE``, so
anything missed is compiled by the warm-up run.  ``uncompiled_modules`` counts
the modules the tuneport child loaded without an up-to-date cache (0 expected).

Targets (issue #12): tuneport at most 0.5x google-genai and at most 1.3x the
httpx script, in wall time.

Also reported, for the tuneport child: its phases (import, connect, get; then a
second connect and get in the same process with a new plugin host, i.e. the
same work without the imports), and its ``-X importtime`` self time grouped by
library.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_startup
from _common import HERE, child_env, emulator_process, median

PROJECT, LOCATION = "bench-project", "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
BASELINE = "python -c pass"
TUNEPORT = "tuneport"
GENAI = "google-genai"
HTTPX = "httpx"
#: (case, baseline, at most this ratio of wall time)
TARGETS = ((TUNEPORT, GENAI, 0.5), (TUNEPORT, HTTPX, 1.3))
#: Packages whose bytecode a pip install would have compiled (ours are installed editable).
OUR_PACKAGES = ("tuneport", "tuneport_gemini", "tuneport_vertex", "tuneport_google")
#: ``-X importtime`` groups: top-level module -> group (anything else: "other standard library").
IMPORT_GROUPS = {
    **dict.fromkeys(
        ("pydantic", "pydantic_core", "annotated_types", "typing_inspection", "typing_extensions"), "pydantic"
    ),
    **dict.fromkeys(
        ("httpx", "httpcore", "h11", "anyio", "sniffio", "certifi", "idna", "h2", "hpack", "hyperframe"),
        "httpx and httpcore",
    ),
    **dict.fromkeys(("ssl", "_ssl", "_hashlib", "hashlib", "socket", "_socket"), "ssl, socket, hashlib"),
    **dict.fromkeys(("http", "email", "urllib", "mimetypes", "html", "calendar"), "http, email, urllib"),
    **dict.fromkeys(
        ("click", "rich", "pygments", "markdown_it", "mdurl", "gettext"), "httpx's CLI (httpx._main)"
    ),
    "asyncio": "asyncio",
    "tuneport": "tuneport",
    "tuneport_vertex": "tuneport-vertex, tuneport-google",
    "tuneport_google": "tuneport-vertex, tuneport-google",
    "pluggy": "pluggy",
    **dict.fromkeys(("platformdirs", "tomllib", "tomli"), "platformdirs, tomllib"),
    **dict.fromkeys(("importlib", "zipfile", "csv", "pathlib"), "importlib.metadata, zipfile, pathlib"),
}


def _tuneport_code(job_id: str) -> str:
    return (
        "import tuneport\n"
        f"client = tuneport.connect(backend='vertex', project={PROJECT!r}, location={LOCATION!r})\n"
        f"job = client.get({job_id!r})\n"
        "assert job.state.value == 'SUCCEEDED', job.state\n"
    )


def _genai_code(url: str, name: str) -> str:
    return (
        "from google import genai\n"
        "from google.genai import types\n"
        "from google.oauth2.credentials import Credentials\n"
        f"client = genai.Client(vertexai=True, project={PROJECT!r}, location={LOCATION!r}, "
        "credentials=Credentials(token='emulator'), "
        f"http_options=types.HttpOptions(base_url={url!r}))\n"
        f"job = client.tunings.get(name={name!r})\n"
        "assert job.state.name == 'JOB_STATE_SUCCEEDED', job.state\n"
    )


def _httpx_code(url: str, name: str) -> str:
    return (
        "import httpx\n"
        f"job = httpx.get({url + '/v1/' + name!r}).json()\n"
        "assert job['state'] == 'JOB_STATE_SUCCEEDED', job\n"
    )


# The tuneport child, with phase marks, a second connect + get (the same work without imports),
# and which loaded modules had no up-to-date bytecode cache.
_PHASES = """
import time
t0 = time.perf_counter()
import tuneport
t1 = time.perf_counter()
client = tuneport.connect(backend='vertex', project={project!r}, location={location!r})
t2 = time.perf_counter()
job = client.get({job_id!r})
t3 = time.perf_counter()
from tuneport.plugins import PluginHost
again = tuneport.connect(backend='vertex', project={project!r}, location={location!r}, plugins=PluginHost())
t4 = time.perf_counter()
again.get({job_id!r})
t5 = time.perf_counter()
import json, os, sys
def stale(module):
    spec = getattr(module, '__spec__', None)
    origin, cached = getattr(spec, 'origin', None), getattr(spec, 'cached', None)
    if not (origin and cached and origin.endswith('.py')):
        return False
    try:
        return os.stat(cached).st_mtime < os.stat(origin).st_mtime
    except OSError:
        return True
print(json.dumps({{
    "import_ms": (t1 - t0) * 1e3, "connect_ms": (t2 - t1) * 1e3, "get_ms": (t3 - t2) * 1e3,
    "warm_connect_ms": (t4 - t3) * 1e3, "warm_get_ms": (t5 - t4) * 1e3,
    "modules": len(sys.modules),
    "uncompiled": sorted(name for name, m in list(sys.modules.items()) if stale(m)),
}}))
"""


def compile_bytecode() -> list[str]:
    """Compile site-packages and our editable source trees, as ``pip install`` does; the paths."""
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for package in OUR_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            paths.update(spec.submodule_search_locations)
    for path in sorted(paths):
        compileall.compile_dir(path, quiet=1, workers=0)
    return sorted(paths)


def _env(host: str) -> dict[str, str]:
    env = child_env(TUNEPORT_EMULATOR_HOST=host)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # what compileall missed is compiled once, by the warm-up
    for name in ("GOOGLE_VERTEX_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT"):
        env.pop(name, None)  # google-genai reads these
    return env


def _importtime_groups(code: str, env: dict[str, str], runs: int) -> dict[str, float]:
    """Median ``-X importtime`` self time of *code*'s imports, in ms, by library group."""
    line = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)$")
    bare = {m.group(2) for m in map(line.match, _importtime_stderr("pass", env).splitlines()) if m}
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        groups: dict[str, float] = {}
        for text in _importtime_stderr(code, env).splitlines():
            match = line.match(text)
            if match is None or match.group(2) in bare:
                continue
            top = match.group(2).split(".")[0]
            group = IMPORT_GROUPS.get(top, "other standard library")
            groups[group] = groups.get(group, 0.0) + int(match.group(1)) / 1000
        samples.append(groups)
    names = {name for sample in samples for name in sample}
    result = {name: round(median([s.get(name, 0.0) for s in samples]), 1) for name in names}
    return dict(sorted(result.items(), key=lambda item: -item[1]))


def _importtime_stderr(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE,
        check=True,
    )
    return done.stderr


def _phases(job_id: str, env: dict[str, str], runs: int) -> dict[str, Any]:
    code = _PHASES.format(project=PROJECT, location=LOCATION, job_id=job_id)
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=HERE, check=True
        )
        samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    keys = ("import_ms", "connect_ms", "get_ms", "warm_connect_ms", "warm_get_ms")
    result: dict[str, Any] = {key: round(median([s[key] for s in samples]), 1) for key in keys}
    result["modules"] = samples[-1]["modules"]
    result["uncompiled_modules"] = samples[-1]["uncompiled"]
    return result


def _ratio(values: list[float], bases: list[float]) -> float:
    ratios = [v / b for v, b in zip(values, bases, strict=True) if b > 0]
    return median(ratios) if ratios else float("nan")


def run(quick: bool = False, repeat: int | None = None) -> dict[str, Any]:
    repeat = repeat or (5 if quick else 15)
    compiled = compile_bytecode()
    with emulator_process() as emu:
        job = emu.admin(
            "POST", "/_emulator/vertex/tuningJobs:seed", {"parent": PARENT, "state": "JOB_STATE_SUCCEEDED"}
        )
        name = str(job["name"])
        job_id = name.rsplit("/", 1)[1]
        env = _env(emu.url.split("://", 1)[1])
        cases = {BASELINE: "pass", TUNEPORT: _tuneport_code(job_id), HTTPX: _httpx_code(emu.url, name)}
        missing = []
        if bench_startup.available("from google import genai"):
            cases[GENAI] = _genai_code(emu.url, name)
        else:
            missing.append(GENAI)
        wall: dict[str, list[float]] = {case: [] for case in cases}
        cpu: dict[str, list[float]] = {case: [] for case in cases}
        rss: dict[str, list[float]] = {case: [] for case in cases}
        for code in cases.values():
            bench_startup.measure(code, env=env)  # warm the file cache (and any bytecode compileall missed)
        for _ in range(repeat):
            for case, code in cases.items():
                seconds, cpu_seconds, mb = bench_startup.measure(code, env=env)
                wall[case].append(seconds)
                cpu[case].append(cpu_seconds)
                rss[case].append(mb)
        phases = _phases(job_id, env, runs=3 if quick else 7)
        imports = _importtime_groups(cases[TUNEPORT], env, runs=3 if quick else 5)
        httpx_imports = _importtime_groups(cases[HTTPX], env, runs=3 if quick else 5)
    rows = {
        case: {
            "wall_ms": round(median(wall[case]) * 1000, 1),
            "cpu_ms": round(median(cpu[case]) * 1000, 1),
            "peak_rss_mb": round(median(rss[case]), 1),
            "over_python_ms": round(
                median([w - b for w, b in zip(wall[case], wall[BASELINE], strict=True)]) * 1000, 1
            ),
        }
        for case in cases
    }
    comparisons = []
    for case, base, target in TARGETS:
        if base not in cases:
            continue
        time_ratio = _ratio(wall[case], wall[base])
        comparisons.append(
            {
                "case": case,
                "baseline": base,
                "target": target,
                "time_ratio": round(time_ratio, 3),
                "cpu_ratio": round(_ratio(cpu[case], cpu[base]), 3),
                "rss_ratio": round(_ratio(rss[case], rss[base]), 3),
                "time_ratios": [round(w / b, 3) for w, b in zip(wall[case], wall[base], strict=True)],
                "met": time_ratio <= target,
            }
        )
    return {
        "repeat": repeat,
        "rows": rows,
        "comparisons": comparisons,
        "missing_baselines": missing,
        "compiled": compiled,
        "tuneport_phases": phases,
        "tuneport_importtime_ms": imports,
        "httpx_importtime_ms": httpx_imports,
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"time to first answer, median of {result['repeat']} fresh interpreters per case "
        "(interleaved rounds)",
        f"{'case':16} {'wall ms':>8} {'CPU ms':>7} {'RSS MB':>7} {'over python ms':>15}",
    ]
    for case, row in result["rows"].items():
        lines.append(
            f"{case:16} {row['wall_ms']:8.1f} {row['cpu_ms']:7.1f} {row['peak_rss_mb']:7.1f} "
            f"{row['over_python_ms']:15.1f}"
        )
    for c in result["comparisons"]:
        lines.append(
            f"{c['case']} / {c['baseline']}: wall {c['time_ratio']:.3f}, CPU {c['cpu_ratio']:.3f}, "
            f"RSS {c['rss_ratio']:.3f} (target <= {c['target']}: {'met' if c['met'] else 'MISSED'})"
        )
    if result["missing_baselines"]:
        lines.append(f"not installed (skipped): {', '.join(result['missing_baselines'])}")
    p = result["tuneport_phases"]
    lines.append(
        f"tuneport phases: import {p['import_ms']:.1f} ms, connect {p['connect_ms']:.1f} ms, "
        f"get {p['get_ms']:.1f} ms; "
        f"again without imports: connect {p['warm_connect_ms']:.1f} ms, get {p['warm_get_ms']:.1f} ms; "
        f"{p['modules']} modules, uncompiled: {p['uncompiled_modules'] or 'none'}"
    )
    for title, key in (("tuneport", "tuneport_importtime_ms"), ("httpx", "httpx_importtime_ms")):
        groups = ", ".join(f"{group} {ms:.1f}" for group, ms in result[key].items())
        lines.append(f"-X importtime self ms of the {title} child beyond python -c pass: {groups}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None, help="runs per case (default 15, quick 5)")
    parser.add_argument("--quick", action="store_true", help="5 runs per case")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    result = run(quick=args.quick, repeat=args.repeat)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
