"""The vertex backend passes the contract kit against the embedded emulator.

Twice: as a declared emulator (no credentials; local datasets staged to its
Cloud Storage), and as a service authenticated with a service-account key
(``credentials_file``), so behaviour 33 has secrets to look for: the key's
private key and the access token the backend sends on every request.  The
token comes from a loopback token endpoint named in the key file, as
Google's ``oauth2.googleapis.com/token`` would issue it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tuneport.models import JobState
from tuneport_contract import BackendContract, Harness
from tuneport_emulator import Emulator, EmulatorClock

PROJECT = "tuneport-contract"
PARENT = f"projects/{PROJECT}/locations/us-central1"
PAIRS = [("1", "2"), ("3", "4"), ("IV", "V"), ("twenty two", "twenty three")]
_STATES = {
    JobState.SUCCEEDED: "JOB_STATE_SUCCEEDED",
    JobState.FAILED: "JOB_STATE_FAILED",
    JobState.RUNNING: "JOB_STATE_RUNNING",
}


class EmulatorBackdoor:
    """Seeds tuning jobs in any state and moves the emulator's clock."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def seed(self, state: JobState) -> str:
        error = {"code": 3, "message": "seeded failure"} if state is JobState.FAILED else None
        job = self.emulator.seed_vertex_job(
            {
                "baseModel": "gemini-2.5-flash",
                "supervisedTuningSpec": {"trainingDatasetUri": "gs://seeded/t.jsonl"},
            },
            parent=PARENT,
            state=_STATES[state],
            progress=0.5 if state is JobState.RUNNING else None,
            error=error,
            examples=PAIRS,
        )
        return str(job["name"]).rsplit("/", 1)[-1]

    def advance(self, seconds: float) -> None:
        self.emulator.advance(seconds)


@pytest.fixture
def contract_emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual()) as running:
        yield running


class TestVertexContract(BackendContract):
    @pytest.fixture
    def contract_harness(self, contract_emulator: Emulator) -> Harness:
        return Harness(
            connect={
                "backend": "vertex",
                "endpoint": contract_emulator.url,
                "emulator": True,
                "project": PROJECT,
                "location": "us-central1",
                "staging_bucket": "gs://tuneport-contract",
                "environ": {},
            },
            spec={"base_model": "gemini-2.5-flash", "training_data": PAIRS, "epoch_count": 1},
            backdoor=EmulatorBackdoor(contract_emulator),
            prompt="IV",
            # Distillation's teacher on gemini-2.5-flash (the catalog's only one).
            teacher_model="gemini-3.1-pro",
        )


# --- the same, authenticated with a service-account key -----------------------------------------

#: The access token the loopback token endpoint issues: sent as ``Authorization: Bearer`` every time.
ACCESS_TOKEN = "ya29.c.CONTRACTCANARYvertexACCESSTOKEN0000000000000000"
PRIVATE_KEY_ID = "c0ffee0contract0canary0private0key0id00"
TRAINING_URI = "gs://tuneport-contract/train.jsonl"
#: The preference and prompt data of the methods' behaviours: this harness stages nothing.
PREFERENCE_URI = "gs://tuneport-contract/preference.jsonl"
PROMPTS_URI = "gs://tuneport-contract/prompts.jsonl"


class TokenEndpoint(ThreadingHTTPServer):
    """A loopback OAuth token endpoint: any JWT-bearer grant gets :data:`ACCESS_TOKEN`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.issued = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/token"


class _TokenHandler(BaseHTTPRequestHandler):
    server: TokenEndpoint

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.issued += 1
        body = json.dumps({"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the test's output is the kit's


@pytest.fixture(scope="module")
def token_endpoint() -> Iterator[TokenEndpoint]:
    server = TokenEndpoint()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def private_key() -> str:
    """A fresh RSA key in PEM (PKCS#8), as a service-account key file holds it."""
    # google-auth signs with cryptography (required by the google-auth versions we test with).
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


@pytest.fixture(scope="module")
def credentials_file(
    tmp_path_factory: pytest.TempPathFactory, token_endpoint: TokenEndpoint, private_key: str
) -> Path:
    """A service-account key file whose token endpoint is the loopback one (readable by its owner only)."""
    path = tmp_path_factory.mktemp("credentials") / "service-account.json"
    key = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": PRIVATE_KEY_ID,
        "private_key": private_key,
        "client_email": f"contract@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "token_uri": token_endpoint.url,
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(key), encoding="utf-8")
    return path


def _secrets(private_key: str) -> list[str]:
    """What must never show: the token, the key's id, and every line of the key's body."""
    body = [line for line in private_key.splitlines() if line and not line.startswith("-----")]
    return [ACCESS_TOKEN, PRIVATE_KEY_ID, *body]


def _jsonl(pairs: list[tuple[str, str]]) -> bytes:
    rows = (
        {"contents": [{"role": "user", "parts": [{"text": i}]}, {"role": "model", "parts": [{"text": o}]}]}
        for i, o in pairs
    )
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def _preference_jsonl() -> bytes:
    """Vertex's preference JSONL: the prompt, and two scored completions (1 preferred, 0 not)."""
    rows = (
        {
            "contents": [_user(i)],
            "completions": [
                {"completion": {"role": "model", "parts": [{"text": o}]}, "score": 1},
                {"completion": {"role": "model", "parts": [{"text": f"not {o}"}]}, "score": 0},
            ],
        }
        for i, o in PAIRS
    )
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _prompts_jsonl() -> bytes:
    """Distillation's prompt-only JSONL: ``contents`` ending with the user's turn."""
    return "".join(json.dumps({"contents": [_user(i)]}) + "\n" for i, _ in PAIRS).encode()


@pytest.fixture
def authenticated_emulator() -> Iterator[Emulator]:
    """An emulator whose Cloud Storage already holds the training data (a real bucket would)."""
    with Emulator(clock=EmulatorClock.manual()) as running:
        bucket, name = TRAINING_URI.removeprefix("gs://").split("/", 1)
        running.put_storage_object(bucket, name, _jsonl(PAIRS))
        running.put_storage_object(bucket, PREFERENCE_URI.rsplit("/", 1)[1], _preference_jsonl())
        running.put_storage_object(bucket, PROMPTS_URI.rsplit("/", 1)[1], _prompts_jsonl())
        yield running
        unauthenticated = [entry for entry in running.requests() if entry["credentials"] != "bearer"]
    assert not unauthenticated, f"requests sent without the token: {unauthenticated}"


class TestVertexContractWithServiceAccount(BackendContract):
    @pytest.fixture
    def contract_harness(
        self, authenticated_emulator: Emulator, credentials_file: Path, private_key: str
    ) -> Harness:
        return Harness(
            connect={
                # Not declared an emulator: the backend authenticates as it would with Google.
                "backend": "vertex",
                "endpoint": authenticated_emulator.url,
                "project": PROJECT,
                "location": "us-central1",
                "credentials_file": str(credentials_file),
                "environ": {},
            },
            spec={"base_model": "gemini-2.5-flash", "training_data": TRAINING_URI, "epoch_count": 1},
            backdoor=EmulatorBackdoor(authenticated_emulator),
            secrets=_secrets(private_key),
            prompt="IV",
            # Distillation's teacher on gemini-2.5-flash (the catalog's only one).
            teacher_model="gemini-3.1-pro",
            method_spec={
                "preference": {"training_data": PREFERENCE_URI},
                "distillation": {"training_data": PROMPTS_URI},
            },
        )


def test_the_planted_token_is_what_the_backend_sends(
    authenticated_emulator: Emulator, credentials_file: Path, token_endpoint: TokenEndpoint
) -> None:
    """Behaviour 33 looks for a secret that is really in use: the token is fetched and sent."""
    import tuneport

    issued = token_endpoint.issued
    with tuneport.connect(
        backend="vertex",
        endpoint=authenticated_emulator.url,
        project=PROJECT,
        credentials_file=str(credentials_file),
        environ={},
    ) as client:
        list(client.list())
    assert token_endpoint.issued == issued + 1
    assert [entry["credentials"] for entry in authenticated_emulator.requests()] == ["bearer"]
