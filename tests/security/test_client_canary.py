"""Canary scans of the Python clients: sync and async, both backends, API key and OAuth token.

Each test plants the canary credentials, drives the clients against the
emulator (and against servers that echo credentials, refuse connections or
never answer), then scans every log record at DEBUG, the reprs of the
clients, backends, settings and results, every exception chain and
traceback, the CLI's ``--json`` error payloads, and the emulator's request
log.  On the wire, the key may travel only in ``x-goog-api-key`` and the
token only in ``Authorization``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from canary_gather import DebugLog, gather_client, gather_error, gather_logs_and_emulator
from canary_lifecycle import (
    CLIENT_KINDS,
    SCENARIOS,
    Scenario,
    open_client,
    run_lifecycle,
)
from canary_scan import Canary, Evidence, assert_no_leak
from canary_wire import (
    SilentServer,
    TokenEndpoint,
    assert_credentials_only_in_headers,
    closed_port,
)

from tuneport.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    JobNotReady,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TuneportError,
)
from tuneport.retry import RetryPolicy
from tuneport_emulator import Emulator

ONE_RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.01)


async def expect_error(evidence: Evidence, expected: type[TuneportError], call: Awaitable[Any]) -> None:
    """Await *call*, which must raise *expected*, and gather the error."""
    with pytest.raises(expected) as info:
        await call
    gather_error(evidence, expected.__name__, info.value)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
@pytest.mark.parametrize("name", SCENARIOS)
async def test_a_whole_lifecycle_leaks_no_secret(
    name: str,
    kind: str,
    canary: Canary,
    emulator: Emulator,
    debug_log: DebugLog,
    caplog: pytest.LogCaptureFixture,
    evidence: Evidence,
    tmp_path: Path,
) -> None:
    scenario = Scenario(name)
    api, recorder = open_client(scenario, kind, canary, emulator, tmp_path)
    try:
        gather_client(evidence, api.client)
        await run_lifecycle(api, scenario, tmp_path, evidence)
    finally:
        await api.close()

    assert_credentials_only_in_headers(recorder.sent, canary.needles(), scenario.expected_credential(canary))
    kinds = {entry["credentials"] for entry in emulator.requests()}
    assert kinds == {"api-key" if scenario.uses_api_key else "bearer"}
    gather_logs_and_emulator(evidence, debug_log, caplog, emulator)
    assert_no_leak(evidence, canary)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
@pytest.mark.parametrize("name", SCENARIOS)
async def test_error_paths_leak_no_secret(
    name: str,
    kind: str,
    canary: Canary,
    emulator: Emulator,
    debug_log: DebugLog,
    caplog: pytest.LogCaptureFixture,
    evidence: Evidence,
    tmp_path: Path,
) -> None:
    scenario = Scenario(name)
    api, recorder = open_client(scenario, kind, canary, emulator, tmp_path)
    silent = SilentServer()
    try:
        await expect_error(evidence, NotFoundError, api("get", "no-such-job"))
        job = await api.create_job(scenario, tmp_path)
        await expect_error(evidence, JobNotReady, api("generate", job.id, "1"))
        # A server (or proxy) that echoes the credentials it received.
        recorder.fail_next(401)
        await expect_error(evidence, AuthenticationError, api("get", job.id))
        recorder.fail_next(403)
        await expect_error(evidence, PermissionDeniedError, api("get", job.id))
        recorder.fail_next(503, times=2)
        evidence.add_object("job after two retried 503s", await api("get", job.id))
        recorder.fail_next(429, times=2)
        await expect_error(evidence, RateLimitError, api("get", job.id, retry=ONE_RETRY))
        recorder.redirect_port = closed_port()
        await expect_error(evidence, APIConnectionError, api("get", job.id, retry=ONE_RETRY))
        recorder.redirect_port = silent.port
        await expect_error(evidence, APITimeoutError, api("get", job.id, retry=ONE_RETRY, timeout=0.2))
        gather_client(evidence, api.client)
    finally:
        silent.close()
        await api.close()

    assert_credentials_only_in_headers(recorder.sent, canary.needles(), scenario.expected_credential(canary))
    assert "retrying GET" in debug_log.text  # the retry log lines were produced, and scanned
    gather_logs_and_emulator(evidence, debug_log, caplog, emulator)
    assert_no_leak(evidence, canary)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_a_key_the_service_rejects_leaks_nowhere(
    kind: str,
    canary: Canary,
    debug_log: DebugLog,
    caplog: pytest.LogCaptureFixture,
    evidence: Evidence,
    tmp_path: Path,
) -> None:
    scenario = Scenario("gemini-api-key")
    with Emulator(require_key="other-key") as strict:
        api, recorder = open_client(scenario, kind, canary, strict, tmp_path)
        try:
            await expect_error(evidence, BadRequestError, api("get", "some-job"))
            await expect_error(evidence, BadRequestError, api.create_job(scenario, tmp_path))
        finally:
            await api.close()
        assert [entry["status"] for entry in strict.requests()] == [400, 400]
        gather_logs_and_emulator(evidence, debug_log, caplog, strict)
    assert_credentials_only_in_headers(recorder.sent, canary.needles(), scenario.expected_credential(canary))
    assert_no_leak(evidence, canary)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
@pytest.mark.parametrize("outcome", ["granted", "refused"])
async def test_a_token_refresh_leaks_no_secret(
    outcome: str,
    kind: str,
    canary: Canary,
    emulator: Emulator,
    debug_log: DebugLog,
    caplog: pytest.LogCaptureFixture,
    evidence: Evidence,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """User credentials without a token: google-auth refreshes them over tuneport's HTTP layer.

    A refused refresh is answered by an endpoint that echoes the refresh token
    and the client secret it received.
    """
    import google.auth
    from google.oauth2.credentials import Credentials

    token_endpoint = TokenEndpoint(canary.access_token, refuse=outcome == "refused")
    expired = Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=canary.refresh_token,
        client_id="canary-client",
        client_secret=canary.client_secret,
        token_uri=token_endpoint.url,
    )
    monkeypatch.setattr(google.auth, "default", lambda scopes=None, **_: (expired, None))
    scenario = Scenario("vertex-adc")
    api, recorder = open_client(scenario, kind, canary, emulator, tmp_path)
    try:
        if outcome == "granted":
            evidence.add_object("jobs", await api.list_all())
            await expect_error(evidence, NotFoundError, api("get", "no-such-job"))
        else:
            await expect_error(evidence, APIError, api("get", "no-such-job"))
        gather_client(evidence, api.client)
    finally:
        await api.close()
        token_endpoint.close()

    assert len(token_endpoint.grants) == 1
    assert canary.refresh_token in unquote_plus(token_endpoint.grants[0])  # the refresh really happened
    if outcome == "granted":
        assert_credentials_only_in_headers(
            recorder.sent, canary.needles(), scenario.expected_credential(canary)
        )
    else:
        assert recorder.sent == []  # nothing was sent without a token
    evidence.add("DEBUG log (all loggers)", debug_log.text)
    evidence.add("caplog", caplog.text)
    assert_no_leak(evidence, canary)
