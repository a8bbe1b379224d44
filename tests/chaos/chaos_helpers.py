"""An emulator in its own process (so a test can kill it) and the figures chaos tests record."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

#: Seconds a stalled create is held before the service: longer than a whole lifecycle (about 3 s).
STALL = 8.0
#: The chaos preset (30% of all requests fail, half after the commit), and on creates: answers
#: slower than the client's timeout (2 s), stalls longer than a lifecycle (abandoned by the
#: service after their X-Server-Timeout), and 200s whose body is a proxy's HTML page (on gets too).
#: On resumable upload chunks and status queries (the large vertex datasets), most answers are
#: lost (after the commit; the final chunk's included) and many chunks only partly stored (a 308
#: whose Range is shorter than what was sent): few upload requests answer as sent.
FAULTS = (
    f"seed=20261122; chaos; *.create: slow=0.06@2.5s, stall=0.04@{STALL:g}s, html-after=0.04; "
    "*.get: html-after=0.03; "
    "storage.objects.upload: 503=0, 500=0, 429=0, reset=0.02, 500-after=0, "
    "reset-after=0.3, 503-after=0.25, short-store=0.4"
)
#: The fault kinds the upload route is given on top of the preset.
UPLOAD_FAULTS = ("reset-after", "503-after", "short-store")

#: Figures each chaos test records; the conftest prints them in the terminal summary.
FIGURES: dict[str, dict[str, Any]] = {}


class EmulatorProcess:
    """``tuneport emulator`` in a child process, restartable on the same port and state file."""

    def __init__(self, state: Path, faults: str) -> None:
        self.state = state
        self.faults = faults
        self.port = 0
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self.starts = 0

    def start(self) -> str:
        command = [
            sys.executable, "-m", "tuneport.cli", "emulator",
            "--port", str(self.port), "--state", str(self.state), "--faults", self.faults,
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEPORT_")}
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.process.kill()
            raise RuntimeError(f"the emulator did not start: {line!r} {self.process.stderr.read()!r}")  # type: ignore[union-attr]
        self.url = line
        self.port = int(line.rsplit(":", 1)[1])
        self.starts += 1
        return line

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, nothing flushed on the way out."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def admin(self, path: str) -> Any:
        """GET an admin route (never faulted)."""
        return httpx.get(f"{self.url}/_emulator/{path}", timeout=30).json()
