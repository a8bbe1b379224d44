"""What each surface contributes to the evidence of a canary scan.

:class:`DebugLog` captures every log record of every logger at DEBUG; the
``gather_*`` functions add the reprs of a client and its parts, an error with
its ``--json`` payload, the logs and the emulator's request log.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from canary_scan import Evidence

from tuneport.cli.app import error_payload
from tuneport_emulator import Emulator


class DebugLog(logging.Handler):
    """Every record of every logger at DEBUG, as a ``logging.basicConfig`` handler would print it.

    Each line holds the formatted record (message with its arguments, and any
    traceback) and, apart, the raw ``msg`` and ``args``: a secret in an
    argument that a format leaves out still counts.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.loggers: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.loggers.add(record.name)
        self.lines.append(f"{self.format(record)} [msg={record.msg!r} args={record.args!r}]")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def gather_client(evidence: Evidence, client: Any) -> None:
    """The reprs of the client and of everything it holds that touches credentials."""
    evidence.add_object("client", client)
    evidence.add_object("backend", client.backend)
    evidence.add_object("settings", client.backend.settings)
    evidence.add_object("authenticator", client.driver.authenticator)
    evidence.add_object("driver", client.driver)


def gather_error(evidence: Evidence, surface: str, error: BaseException) -> None:
    evidence.add_exception(surface, error)
    evidence.add(f"--json payload of {surface}", json.dumps({"error": error_payload(error)}, default=str))


def gather_logs_and_emulator(
    evidence: Evidence, debug_log: DebugLog, caplog: pytest.LogCaptureFixture, *emulators: Emulator
) -> None:
    assert "httpcore.http11" in debug_log.loggers, "httpcore's DEBUG log was not captured"
    evidence.add("DEBUG log (all loggers)", debug_log.text)
    evidence.add("caplog", caplog.text)
    for emulator in emulators:
        log = emulator.requests()
        evidence.add("emulator request log", json.dumps(log))
        evidence.add("emulator URLs", "\n".join(f"{r['path']}?{r['query']}" for r in log))
