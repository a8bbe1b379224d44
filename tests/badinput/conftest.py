"""Fixtures of the bad-input suite: a seeded emulator per module, clients on it, config files.

Every module that talks to a service shares one emulator (manual clock,
loopback) seeded with a ready tuned Gemini model (and, on demand, a succeeded
Vertex tuning job: ``vertex_job_id``).  The
function-scoped ``emulator`` fixture empties its request log before the test
and fails the test if a handler raised (a 500) during it, so each case can
assert exactly what reached the service: usually nothing.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tuneport
from tuneport.client import TuningClient
from tuneport.retry import NO_RETRY
from tuneport.waiting import ManualClock
from tuneport_emulator import Emulator, EmulatorClock

# --import-mode=importlib does not put this folder on sys.path; the helpers must import.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from badinput_helpers import BUCKET, GEMINI_MODEL_ID, PARENT, PROJECT  # noqa: E402


@pytest.fixture(scope="module")
def running_emulator() -> Iterator[Emulator]:
    """One emulator for the module, with a ready tuned model on the Gemini surface."""
    with Emulator(clock=EmulatorClock.manual()) as emulator:
        emulator.seed_gemini_model(tuned_model_id=GEMINI_MODEL_ID)
        yield emulator


@pytest.fixture(scope="module")
def vertex_job_id(running_emulator: Emulator) -> str:
    """The id of a succeeded Vertex tuning job (with its endpoint) on the module's emulator."""
    job = running_emulator.seed_vertex_job(parent=PARENT)
    return str(job["name"]).rsplit("/", 1)[-1]


@pytest.fixture
def emulator(running_emulator: Emulator) -> Iterator[Emulator]:
    """The module's emulator with an empty request log; the test fails if a handler raised."""
    running_emulator.store.clear_requests()
    errors_before = len(running_emulator.internal_errors)
    yield running_emulator
    new_errors = running_emulator.internal_errors[errors_before:]
    assert new_errors == [], new_errors[0]["traceback"] if new_errors else ""


@pytest.fixture(scope="module")
def shared_http() -> Iterator[httpx.Client]:
    """One HTTP client for the module's tuneport clients (building one costs an SSL context)."""
    with httpx.Client(timeout=10) as http:
        yield http


@pytest.fixture
def connect(emulator: Emulator, shared_http: httpx.Client) -> Iterator[Callable[..., TuningClient]]:
    """``connect("gemini"|"vertex", **settings)``: a sync client on the emulator (closed at teardown).

    Retries are off, so a refusal is seen at once; the vertex client has a
    project and a staging bucket, so only the input under test can be wrong.
    """
    made: list[TuningClient] = []

    def make(backend: str, **settings: Any) -> TuningClient:
        options: dict[str, Any] = {
            "backend": backend,
            "endpoint": emulator.url,
            "emulator": True,
            "environ": {},
            "clock": ManualClock(),
            "retry": NO_RETRY,
            "http_client": shared_http,
        }
        if backend == "vertex":
            options.update(project=PROJECT, staging_bucket=f"gs://{BUCKET}")
        options.update(settings)
        client = tuneport.connect(**options)
        made.append(client)
        return client

    with warnings.catch_warnings():
        # Catalog notices (a retired model tuned on the emulator) are not under test here.
        warnings.simplefilter("ignore")
        yield make
    for client in made:
        client.close()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a ``tuneport.toml`` with the given text; its path."""

    def write(text: str) -> Path:
        path = tmp_path / "tuneport.toml"
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)  # private, as a file with an api_key must be (no permission warning)
        return path

    return write
