"""Fixtures: a real emulator on loopback with a manual clock, and an httpx client to it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tuneport_emulator import Emulator, EmulatorClock

# --import-mode=importlib does not put this folder on sys.path; the helpers must import.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A started emulator whose clock moves only when the test advances it.

    Teardown fails the test if any handler raised unexpectedly (a 500).
    """
    emu = Emulator(clock=EmulatorClock.manual())
    emu.start()
    try:
        yield emu
    finally:
        errors = emu.internal_errors
        emu.stop()
    assert errors == [], errors[0]["traceback"] if errors else ""


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    """An httpx client on the emulator's base URL."""
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        yield http


@pytest.fixture
def tuned(client: httpx.Client) -> dict[str, Any]:
    """A tuned model just created (CREATING): its create Operation."""
    from emulator_helpers import create_body

    response = client.post("/v1beta/tunedModels", params={"tunedModelId": "numbers"}, json=create_body())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# --- Vertex AI and Cloud Storage ---------------------------------------------------------------

#: The parent every Vertex test works under, and its bucket.
VERTEX_PARENT = "projects/p/locations/us-central1"
BUCKET = "tuneport-test"


@pytest.fixture
def vertex_jsonl() -> Callable[..., bytes]:
    """Build Vertex tuning JSONL from ``(input, output)`` pairs (optionally with a system instruction)."""

    def build(pairs: list[tuple[str, str]] | None = None, *, system: str | None = None) -> bytes:
        from emulator_helpers import NUMBERS

        lines = []
        for text_input, output in NUMBERS if pairs is None else pairs:
            example: dict[str, Any] = {
                "contents": [
                    {"role": "user", "parts": [{"text": text_input}]},
                    {"role": "model", "parts": [{"text": output}]},
                ]
            }
            if system is not None:
                example["systemInstruction"] = {"parts": [{"text": system}]}
            lines.append(json.dumps(example))
        return ("\n".join(lines) + "\n").encode()

    return build


@pytest.fixture
def gcs(emulator: Emulator, vertex_jsonl: Callable[..., bytes]) -> Callable[..., str]:
    """Put an object into the emulated Cloud Storage (default: the numbers dataset); its gs:// URI."""

    def put(data: bytes | None = None, name: str = "train.jsonl", bucket: str = BUCKET) -> str:
        emulator.put_storage_object(bucket, name, vertex_jsonl() if data is None else data)
        return f"gs://{bucket}/{name}"

    return put


@pytest.fixture
def create_job(client: httpx.Client, gcs: Callable[..., str]) -> Callable[..., httpx.Response]:
    """POST a TuningJob (defaults: gemini-2.5-flash on the numbers dataset, v1beta1); the reply.

    Keyword fields replace the defaults; ``None`` removes one.
    """

    def create(
        version: str = "v1beta1", *, params: dict[str, str] | None = None, **fields: Any
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {"trainingDatasetUri": gcs()},
        }
        for key, value in fields.items():  # None removes a default
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        return client.post(f"/{version}/{VERTEX_PARENT}/tuningJobs", json=body, params=params or {})

    return create
