"""The emulator's own key (``--require-key``): refused when empty, never shown anywhere.

Issue #14 part 4: ``--require-key ''`` silently turned the check off, and a
remote emulator left its admin and storage routes open.  Here a remote
emulator demands the canary key on every route, and no trace of the key (or
of wrong keys built from it) reaches a log line, the request log, the state,
an error or a ``repr``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from canary_gather import DebugLog
from canary_scan import Canary

from tuneport_emulator import Emulator, EmulatorClock

_CLIENT_LOGGERS = ("httpx", "httpcore")


def _leaks(canary: Canary, text: str) -> list[str]:
    return [needle for needle in canary.needles() if needle in text]


def test_a_remote_emulator_keeps_its_key_out_of_everything(canary: Canary, debug_log: DebugLog) -> None:
    key = canary.api_key
    wrong = f"{key}-wrong"
    with Emulator(clock=EmulatorClock.manual(), allow_remote=True, require_key=key) as emu:
        emu.put_storage_object("bucket", "train.jsonl", b"{}\n")
        with httpx.Client(base_url=emu.url, timeout=10) as http:
            statuses = []
            for path in (
                "/v1beta/tunedModels",
                "/v1beta1/projects/p/locations/us-central1/tuningJobs",
                "/storage/v1/b/bucket/o",
            ):
                statuses += [
                    http.get(path, headers={"x-goog-api-key": key}).status_code,
                    http.get(path, params={"key": key}).status_code,
                    http.get(path, headers={"Authorization": f"Bearer {key}"}).status_code,
                    http.get(path, headers={"x-goog-api-key": wrong}).status_code,
                    http.get(path, params={"key": wrong}).status_code,
                    http.get(path, headers={"Authorization": f"Bearer {wrong}"}).status_code,
                ]
            errors = [http.get("/v1beta/tunedModels", headers={"x-goog-api-key": wrong}).text]
            listed = http.get("/_emulator/requests", headers={"x-goog-api-key": key}).text
            state = http.get("/_emulator/state", headers={"x-goog-api-key": key}).text
        assert statuses.count(200) == 9, statuses
        assert any(
            line.split(" ", 2)[1].startswith("uvicorn") for line in debug_log.lines
        )  # server logs seen
        assert sorted(set(statuses) - {200}) == [400, 401]
        # The test's own client (httpx, httpcore) logs the URLs it sends, ?key= included.
        server_log = [
            line for line in debug_log.lines if not line.split(" ", 2)[1].startswith(_CLIENT_LOGGERS)
        ]
        everything = "\n".join(
            [*server_log, listed, state, *errors, json.dumps(emu.requests()), repr(emu), repr(emu.context)]
        )
        assert emu.internal_errors == []
    assert _leaks(canary, everything) == []


@pytest.mark.parametrize("command", [["tuneport_emulator"], ["tuneport.cli", "emulator"]])
@pytest.mark.parametrize("bad", ["", " {key}", "{key} trailing"])
def test_both_command_lines_refuse_a_key_that_cannot_match(
    canary: Canary, command: list[str], bad: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *command, "--port", "0", "--require-key", bad.format(key=canary.api_key)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # no URL: it never served
    assert "require_key" in result.stderr
    assert _leaks(canary, result.stderr) == []
