"""Helpers shared by the benchmark modules: statistics, fresh interpreters, the emulator process.

Nothing here is part of tuneport; the benchmarks import it as a sibling module
(``benchmarks/`` is put on ``sys.path`` by :mod:`run` and by each script).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Environment of every child process: no user config, no proxies, no vendor credentials.
CHILD_ENV_DROP = (
    "TUNEPORT_CONFIG",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def child_env(**extra: str) -> dict[str, str]:
    """``os.environ`` without config, credentials or proxies (loopback only), plus *extra*."""
    env = {k: v for k, v in os.environ.items() if k not in CHILD_ENV_DROP}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # Google's SDKs warn about the Python version on import: keep the output readable.
    env.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    env.update(extra)
    return env


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The *q*-th percentile (0-100) by nearest rank on sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def vm_hwm_mb() -> float:
    """Peak resident set size of this process, in MB (``VmHWM`` of /proc/self/status)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def thread_count() -> int:
    """Threads of this process as the kernel counts them (any library's included)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    import threading

    return threading.active_count()


def run_child(code: str, *, env: dict[str, str] | None = None, timeout: float = 600) -> dict[str, Any]:
    """Run *code* in a fresh interpreter; it must print one JSON object as its last line."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env or child_env(),
        cwd=HERE,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    load = None
    with contextlib.suppress(OSError, AttributeError):
        load = [round(x, 2) for x in os.getloadavg()]
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load_average_at_start": load,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "versions": {
            name: version_of(name)
            for name in (
                "tuneport",
                "tuneport-gemini",
                "tuneport-vertex",
                "httpx",
                "pydantic",
                "google-genai",
                "google-cloud-aiplatform",
                "orjson",
                "msgspec",
            )
        },
    }


# --- the emulator in its own process ------------------------------------------------------


@dataclass
class EmulatorProcess:
    """An emulator served by a separate interpreter (its CPU does not share our GIL)."""

    url: str
    process: subprocess.Popen[str]
    #: The file the emulator package was imported from (``__init__.py``), as the child reported it.
    origin: str = ""

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call an admin route (``/_emulator/...``) with the standard library; the JSON reply."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with _no_proxy().open(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")

    def upload(self, bucket: str, name: str, data: bytes, content_type: str = "application/jsonl") -> Any:
        """Stage *data* as ``gs://bucket/name`` (Cloud Storage's single-request media upload); the object."""
        query = urllib.parse.urlencode({"uploadType": "media", "name": name})
        url = f"{self.url}/upload/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o?{query}"
        req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": content_type})
        with _no_proxy().open(req, timeout=60) as resp:
            return json.loads(resp.read())

    def request_seq(self) -> int:
        """How many non-admin requests the emulator has received so far (the log's last ``seq``)."""
        log = self.admin("GET", "/_emulator/requests")["requests"]
        return int(log[-1]["seq"]) if log else 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator process has used."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def threads(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        return 0

    def memory_mb(self) -> dict[str, float]:
        """The emulator process's resident set now (``VmRSS``) and at its peak (``VmHWM``), in MB."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024  # kB
        return {"rss_mb": fields["VmRSS"], "peak_rss_mb": fields["VmHWM"]}


def _no_proxy() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextlib.contextmanager
def emulator_process(
    *,
    clock: str = "scaled",
    speed: float = 60.0,
    request_log_size: int | None = 1000,
    package: str = "tuneport_emulator",
    pythonpath: str | None = None,
) -> Iterator[EmulatorProcess]:
    """Start ``_emulator_proc.py`` (loopback, ephemeral port); stop it on exit.

    *package* is the emulator package to serve and *pythonpath* what the child's
    ``PYTHONPATH`` starts with (another tree's ``src``, for a baseline); the
    child reports where the package came from as :attr:`EmulatorProcess.origin`.
    ``request_log_size=None`` keeps the package's default.
    """
    args = [sys.executable, str(HERE / "_emulator_proc.py"), "--clock", clock, "--speed", str(speed)]
    args += ["--package", package]
    if request_log_size is not None:
        args += ["--request-log-size", str(request_log_size)]
    extra = {} if pythonpath is None else {"PYTHONPATH": pythonpath}
    process = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env(**extra), cwd=HERE
    )
    try:
        assert process.stdout is not None
        url, _, origin = process.stdout.readline().strip().partition("\t")
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the emulator did not start (got {url!r})")
        yield EmulatorProcess(url, process, origin)
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # EOF: the server stops
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=10)
