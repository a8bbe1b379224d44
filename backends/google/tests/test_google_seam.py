"""tuneport-google: Google's error bodies, wire-type limits and authenticators."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tuneport.errors import SpecError
from tuneport.models import GenerateRequest, Hyperparameters
from tuneport.protocol import HttpResponse
from tuneport_google.auth import ApiKeyAuthenticator, CredentialsAuthenticator
from tuneport_google.errors import read_google_error
from tuneport_google.proto_json import (
    FLOAT32_MAX,
    INT32_MAX,
    check_generate_request,
    check_hyperparameters,
    list_params,
    parse_int,
    parse_time,
)


def _answer(status: int, body: Any) -> HttpResponse:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {"content-type": "application/json"}, content)


def test_a_google_status_with_request_and_retry_info() -> None:
    details = read_google_error(
        _answer(
            429,
            {
                "error": {
                    "code": 429,
                    "message": "Quota exceeded",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [
                        {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "req-9"},
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"},
                    ],
                }
            },
        )
    )
    assert (details.message, details.status, details.request_id, details.retry_after) == (
        "Quota exceeded",
        "RESOURCE_EXHAUSTED",
        "req-9",
        2.5,
    )


def test_an_error_wrapped_in_a_list_as_some_front_ends_send_it() -> None:
    details = read_google_error(_answer(503, [{"error": {"message": "busy", "status": "UNAVAILABLE"}}]))
    assert (details.message, details.status) == ("busy", "UNAVAILABLE")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
        (b"", "HTTP 502"),
        ({"detail": "not Google's shape"}, "not Google's shape"),
        ({"error": {"status": "INTERNAL"}}, "HTTP 502"),
    ],
)
def test_other_shapes_fall_back_to_the_neutral_reading(body: Any, message: str) -> None:
    assert read_google_error(_answer(502, body)).message == message


def test_int32_and_float32_limits_are_the_google_backends() -> None:
    check_hyperparameters(Hyperparameters(epoch_count=INT32_MAX), backend="vertex")
    with pytest.raises(SpecError) as info:
        check_hyperparameters(Hyperparameters(epoch_count=INT32_MAX + 1), backend="vertex")
    assert info.value.problems[0].field == "hyperparameters.epoch_count"
    check_hyperparameters(Hyperparameters(learning_rate=1e39), backend="vertex")  # a double there
    with pytest.raises(SpecError) as info:
        check_hyperparameters(Hyperparameters(learning_rate=1e39), backend="gemini", float32=True)
    assert str(FLOAT32_MAX)[:5] in info.value.problems[0].message.replace("e+38", "")


def test_generation_settings_beyond_int32_are_refused() -> None:
    check_generate_request(GenerateRequest.model_validate({"contents": "hi", "top_k": 40}))
    with pytest.raises(SpecError) as info:
        check_generate_request(GenerateRequest.model_validate({"contents": "hi", "max_output_tokens": 2**31}))
    assert info.value.problems[0].field == "max_output_tokens"


def test_proto3_json_scalars() -> None:
    assert parse_int("123") == 123
    assert parse_int(7) == 7
    assert parse_int("x") is None
    parsed = parse_time("2026-12-03T09:00:00.5Z")
    assert parsed is not None
    assert parsed.utcoffset() is not None
    assert parse_time("2026-12-03T09:00:00") is None  # no zone: not RFC 3339
    assert list_params(10, "tok", "state=ACTIVE") == {
        "pageSize": 10,
        "pageToken": "tok",
        "filter": "state=ACTIVE",
    }
    assert list_params(None, None, None) == {}


def test_api_keys_travel_in_a_header_and_are_listed_as_secrets() -> None:
    auth = ApiKeyAuthenticator("AIza-not-a-real-key")
    assert auth.headers() == {"x-goog-api-key": "AIza-not-a-real-key"}
    assert "AIza" not in repr(auth)
    assert tuple(auth.secrets()) == ("AIza-not-a-real-key",)


class _Credentials:
    def __init__(self) -> None:
        self.valid = False
        self.token: str | None = None
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token, self.valid = f"token-{self.refreshes}", True


def test_oauth_tokens_are_refreshed_when_invalid_and_billed_to_the_quota_project() -> None:
    credentials = _Credentials()
    auth = CredentialsAuthenticator(credentials, quota_project="billing-project")
    assert auth.headers() == {"authorization": "Bearer token-1", "x-goog-user-project": "billing-project"}
    auth.headers()
    assert credentials.refreshes == 1  # still valid: no second refresh
    assert "token-1" in tuple(auth.secrets())
