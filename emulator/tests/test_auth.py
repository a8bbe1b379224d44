"""API keys: none needed by default; with ``require_key``, Google's answers for missing and wrong keys."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator

import httpx
import pytest
from emulator_helpers import assert_error, create_body

from tuneport_emulator import Emulator, EmulatorClock
from tuneport_emulator.__main__ import main as emulator_main
from tuneport_emulator.auth import ApiKeyAuth, RemoteAccessKey, UnprotectedRemoteWarning
from tuneport_emulator.errors import EmulatorConfigError
from tuneport_emulator.instance import serve

KEY = "AIzaSyTEST-emulator-key-0123456789abcdef"


@pytest.fixture
def locked() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual(), require_key=KEY) as emu:
        yield emu
        assert emu.internal_errors == []


def test_no_key_needed_by_default(client: httpx.Client) -> None:
    assert client.get("/v1beta/tunedModels").status_code == 200
    assert client.get("/v1beta/tunedModels", headers={"x-goog-api-key": "anything"}).status_code == 200


def test_missing_key_is_403_unregistered_caller(locked: Emulator) -> None:
    error = assert_error(httpx.get(f"{locked.url}/v1beta/tunedModels"), 403, "PERMISSION_DENIED")
    assert error["message"].startswith("Method doesn't allow unregistered callers")


@pytest.mark.parametrize("where", ["header", "query"])
def test_wrong_key_is_400_api_key_invalid(locked: Emulator, where: str) -> None:
    if where == "header":
        response = httpx.get(f"{locked.url}/v1beta/tunedModels", headers={"x-goog-api-key": "wrong"})
    else:
        response = httpx.get(f"{locked.url}/v1beta/tunedModels", params={"key": "wrong"})
    error = assert_error(response, 400, "INVALID_ARGUMENT", contains="API key not valid")
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


def test_right_key_in_header_or_query_and_bearer_pass(locked: Emulator) -> None:
    url = f"{locked.url}/v1beta/tunedModels"
    assert httpx.get(url, headers={"x-goog-api-key": KEY}).status_code == 200
    assert httpx.get(url, params={"key": KEY}).status_code == 200
    assert httpx.get(url, headers={"authorization": "Bearer ya29.token"}).status_code == 200
    assert httpx.get(url, headers={"authorization": "Basic dXNlcjpwYXNz"}).status_code == 403


def test_every_gemini_route_is_protected_but_admin_is_not(locked: Emulator) -> None:
    checks = [
        ("POST", "/v1beta/tunedModels"),
        ("GET", "/v1beta/tunedModels/x"),
        ("PATCH", "/v1beta/tunedModels/x"),
        ("DELETE", "/v1beta/tunedModels/x"),
        ("POST", "/v1beta/tunedModels/x:generateContent"),
        ("POST", "/v1/tunedModels/x:generateContent"),
        ("GET", "/v1beta/tunedModels/x/operations/y"),
        ("GET", "/v1/tunedModels/x/operations"),
        ("POST", "/v1/tunedModels/x/operations/y:cancel"),
        ("GET", "/v1beta/models"),
    ]
    with httpx.Client(base_url=locked.url) as http:
        for method, path in checks:
            assert http.request(method, path).status_code == 403, (method, path)
        assert http.get("/_emulator/state").status_code == 200
        assert http.post("/_emulator/gemini/tunedModels:seed", json={}).status_code == 200


def test_keys_never_reach_the_request_log(locked: Emulator) -> None:
    with httpx.Client(base_url=locked.url) as http:
        http.post("/v1beta/tunedModels", params={"key": KEY, "tunedModelId": "k"}, json=create_body())
        http.get("/v1beta/tunedModels", headers={"x-goog-api-key": KEY})
        http.get("/v1beta/tunedModels", params={"key": "wrong-key-value"})
        logged = http.get("/_emulator/requests").text + str(http.get("/_emulator/state").json())
    assert KEY not in logged
    assert "wrong-key-value" not in logged
    entries = locked.requests()
    assert [e["credentials"] for e in entries] == ["api-key", "api-key", "api-key"]
    assert entries[0]["query"] == {"tunedModelId": ["k"]}
    assert [e["status"] for e in entries] == [200, 200, 400]


# --- what a key setting may be ---------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", " ", f" {KEY}", f"{KEY}\n", "two words", "clé"])
def test_a_key_that_can_never_match_is_refused(bad: str) -> None:
    # An empty key used to turn the check off silently (issue #14 part 4).
    with pytest.raises(EmulatorConfigError) as caught:
        Emulator(require_key=bad)
    assert caught.value.key == "require_key"
    assert bad.strip() == "" or bad.strip() not in str(caught.value)  # never echoed
    with pytest.raises(EmulatorConfigError, match="require_key"):
        serve(port=0, require_key=bad, stop=threading.Event())


def test_the_cli_refuses_an_empty_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulator_main(["--port", "0", "--require-key", ""]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "require_key is empty" in captured.err


def test_a_remote_emulator_without_a_key_warns() -> None:
    with pytest.warns(UnprotectedRemoteWarning, match="without a key"):
        Emulator(allow_remote=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Emulator(allow_remote=True, require_key=KEY)
        Emulator()


def test_no_repr_shows_the_key() -> None:
    assert KEY not in repr(ApiKeyAuth(KEY))
    assert KEY not in repr(RemoteAccessKey(KEY))
    emulator = Emulator(require_key=KEY)
    assert KEY not in repr(emulator)
    assert KEY not in repr(emulator.context)
