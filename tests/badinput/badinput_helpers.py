"""Names and assertions shared by the bad-input suite.

* :func:`assert_names`: a typed error names the offending field, key or
  parameter, both in its structure and in its message;
* :func:`assert_problem_at`: a dataset error names the line and the field;
* :func:`assert_nothing_sent`: no request reached the emulator;
* :func:`exchange`, :func:`assert_google_error`, :func:`state_kept`: raw HTTP
  to the emulator, the shape of Google's error body, and the proof that a
  refused request changed nothing and the emulator still serves.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tuneport.errors import ConfigError, UnsupportedParameter, ValidationError
from tuneport_emulator import Emulator

PROJECT = "tuneport-test"
LOCATION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
BUCKET = "tuneport-staging"
#: Base models each surface tunes (the gemini one only on the emulator).
GEMINI_BASE = "models/gemini-1.5-flash-001-tuning"
VERTEX_BASE = "gemini-2.5-flash"
BASE_MODELS = {"gemini": GEMINI_BASE, "vertex": VERTEX_BASE}
#: The tuned model every module's emulator is seeded with (ACTIVE, answers "ping" with "pong").
GEMINI_MODEL_ID = "ready-model"
#: Obviously not a real credential.
FAKE_KEY = "test-key-not-real"
PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]
#: How long a raw exchange may take before the emulator counts as hung.
HANG_SECONDS = 5.0


# --- typed errors that name what is wrong ------------------------------------------------------


def named_fields(error: BaseException) -> set[str]:
    """What the error's structure points at: problem fields, the config key, the parameter."""
    names: set[str] = set()
    if isinstance(error, ValidationError):
        names |= {p.field for p in error.problems if p.field}
    if isinstance(error, ConfigError) and error.key:
        names.add(error.key)
    if isinstance(error, UnsupportedParameter):
        names.add(error.parameter)
    return names


def assert_names(error: BaseException, name: str) -> None:
    """``error`` names ``name`` in its structure (field, key, parameter) and in its message."""
    assert name in named_fields(error), f"{name!r} not in {named_fields(error)}: {error}"
    assert name in str(error), f"{name!r} not in the message: {error}"


def assert_problem_at(error: ValidationError, line: int, field: str | None, rule: str) -> None:
    """One of the error's problems is at ``line``, on ``field``, breaking ``rule``; the message says so."""
    found = [(p.line, p.field, p.rule) for p in error.problems]
    assert (line, field, rule) in found, f"({line}, {field!r}, {rule!r}) not in {found}"
    assert f":{line}: " in str(error), str(error)
    if field is not None:
        assert field in str(error), str(error)


def assert_nothing_sent(emulator: Emulator) -> None:
    """No request of any kind (create, upload, read) reached the emulator."""
    sent = [(r["method"], r["path"]) for r in emulator.requests()]
    assert sent == [], f"requests reached the emulator: {sent}"


# --- raw HTTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawReply:
    """The final HTTP response of a raw exchange (interim 1xx responses skipped)."""

    status: int
    headers: dict[str, str]
    body: bytes


def exchange_bytes(url: str, payload: bytes, *, half_close: bool = False) -> bytes:
    """Send ``payload`` as is on a new connection and read until the server closes it.

    The payload should ask for the connection to close (``Connection: close``)
    or be refused.  ``half_close`` also shuts the sending side, as a client
    with nothing more to send: uvicorn then drops the connection without an
    answer (it answers no half-closed client), which is what a truncated
    request should meet rather than a wait.
    """
    host, port = url.removeprefix("http://").rsplit(":", 1)
    received = bytearray()
    with socket.create_connection((host, int(port)), timeout=HANG_SECONDS) as sock:
        sock.sendall(payload)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {HANG_SECONDS:g} s: the emulator hung on {payload[:80]!r}")
    return bytes(received)


def exchange(url: str, payload: bytes) -> RawReply:
    """Send ``payload`` as is on a new connection; the HTTP answer."""
    return parse_reply(exchange_bytes(url, payload))


def parse_reply(raw: bytes) -> RawReply:
    """The last response in ``raw`` (an interim ``100 Continue`` is skipped)."""
    while True:
        head, blank, rest = raw.partition(b"\r\n\r\n")
        assert blank, f"not an HTTP response: {raw[:200]!r}"
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, status, *_ = status_line.split(" ", 2)
        assert version in ("HTTP/1.0", "HTTP/1.1"), status_line
        if int(status) == 100:
            raw = rest
            continue
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", len(rest)))
        return RawReply(int(status), headers, rest[:length])


def assert_google_error(
    reply: RawReply | httpx.Response, code: int, status: str | None = None, *, names: str = ""
) -> dict[str, Any]:
    """The reply is Google's ``{"error": {code, message, status}}`` with this code; the ``error``."""
    if isinstance(reply, httpx.Response):
        reply = RawReply(reply.status_code, dict(reply.headers), reply.content)
    assert reply.status == code, (reply.status, reply.body[:300])
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    body = json.loads(reply.body)
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    assert isinstance(error["status"], str), error
    assert error["status"], error
    if status is not None:
        assert error["status"] == status, error
    assert names in json.dumps(error), f"{names!r} not named in {error}"
    return error


def assert_still_serving(emulator: Emulator, headers: dict[str, str] | None = None) -> None:
    """A valid request (with ``headers``) on a new connection still gets its answer."""
    url = f"{emulator.url}/v1beta/tunedModels/{GEMINI_MODEL_ID}"
    reply = httpx.get(url, headers=headers, timeout=HANG_SECONDS)
    assert reply.status_code == 200, reply.text
    assert reply.json()["name"] == f"tunedModels/{GEMINI_MODEL_ID}"


@contextmanager
def state_kept(emulator: Emulator, headers: dict[str, str] | None = None) -> Iterator[None]:
    """The block leaves the emulator's records and counters as they were, and it still serves."""
    before = emulator.store.snapshot()
    yield
    assert emulator.store.snapshot() == before, "a refused request changed the emulator's state"
    assert_still_serving(emulator, headers)
