"""Bad environment variables: ``TUNEPORT_<SETTING>``, vendor keys, and the variables that choose.

A bad value must raise :class:`ConfigError` naming the variable it came from
(``source``) and the setting (``key``); a variable that chooses a file,
profile or backend must name itself and the value it could not use.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from badinput_helpers import assert_names

import tuneport
from tuneport.errors import BackendNotFound, ConfigError

LEAKED_KEY = "AIzaSyA-1234567890abcdefghijklmnopqrstu"

BAD_SETTING_VARIABLES = [
    ("gemini", "TUNEPORT_TIMEOUT", "abc", "timeout"),
    ("gemini", "TUNEPORT_TIMEOUT", "-1", "timeout"),
    ("gemini", "TUNEPORT_TIMEOUT", "0", "timeout"),
    ("gemini", "TUNEPORT_TIMEOUT", "nan", "timeout"),
    ("gemini", "TUNEPORT_TIMEOUT", "", "timeout"),
    ("gemini", "TUNEPORT_TIMEOUT", "30s", "timeout"),
    ("gemini", "TUNEPORT_TIMEOUT", "[30]", "timeout"),
    ("gemini", "TUNEPORT_TIMEOUT", '{"seconds": 30}', "timeout"),
    ("gemini", "TUNEPORT_AUTH", "magic", "auth"),
    ("gemini", "TUNEPORT_AUTH", "", "auth"),
    ("gemini", "TUNEPORT_AUTH", "API_KEY", "auth"),
    ("gemini", "TUNEPORT_ENDPOINT", "ftp://example.test", "endpoint"),
    ("gemini", "TUNEPORT_ENDPOINT", "localhost:8765", "endpoint"),
    ("gemini", "TUNEPORT_ENDPOINT", "http://127.0.0.1:8765 /v1", "endpoint"),
    ("gemini", "TUNEPORT_ENDPOINT", "http://127.0.0.1:8765#top", "endpoint"),
    ("gemini", "TUNEPORT_ENDPOINT", "http://127.0.0.1:port", "endpoint"),
    ("gemini", "TUNEPORT_ENDPOINT", "http://[::1", "endpoint"),
    ("gemini", "TUNEPORT_ENDPOINT", "http://", "endpoint"),
    ("gemini", "TUNEPORT_API_VERSION", "v1", "api_version"),
    ("gemini", "TUNEPORT_API_KEY", "key with spaces", "api_key"),
    ("gemini", "TUNEPORT_API_KEY", "kéy-not-ascii", "api_key"),
    ("gemini", "TUNEPORT_QUOTA_PROJECT", "", "quota_project"),
    ("gemini", "TUNEPORT_QUOTA_PROJECT", "my project", "quota_project"),
    ("gemini", "GEMINI_API_KEY", "line\nbreak", "api_key"),
    ("gemini", "GOOGLE_API_KEY", "tab\tkey", "api_key"),
    ("vertex", "TUNEPORT_PROJECT", "My_Project", "project"),
    ("vertex", "TUNEPORT_PROJECT", "tuneport-test\n", "project"),
    ("vertex", "TUNEPORT_PROJECT", "abc", "project"),
    ("vertex", "TUNEPORT_LOCATION", "us central1", "location"),
    ("vertex", "TUNEPORT_LOCATION", "../us-central1", "location"),
    ("vertex", "TUNEPORT_LOCATION", "us-central1\n", "location"),
    ("vertex", "TUNEPORT_LABELS", "{bad", "labels"),
    ("vertex", "TUNEPORT_LABELS", "[1, 2]", "labels"),
    ("vertex", "TUNEPORT_LABELS", '{"Team": "ml"}', "labels"),
    ("vertex", "TUNEPORT_LABELS", '{"team": 5}', "labels"),
    ("vertex", "TUNEPORT_LABELS", "team=ml", "labels"),
    ("vertex", "TUNEPORT_STAGING_BUCKET", "s3://bucket", "staging_bucket"),
    ("vertex", "TUNEPORT_STAGING_BUCKET", "gs://B", "staging_bucket"),
    ("vertex", "TUNEPORT_STAGING_BUCKET", "gs://bucket\n", "staging_bucket"),
    ("vertex", "TUNEPORT_API_VERSION", "v1beta", "api_version"),
    ("vertex", "TUNEPORT_ENDPOINT", "https://example.test?alt=json", "endpoint"),
]


@pytest.mark.parametrize(("backend", "variable", "value", "key"), BAD_SETTING_VARIABLES)
def test_bad_setting_variable_names_the_variable_and_the_key(
    backend: str, variable: str, value: str, key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(backend=backend, environ={variable: value})
    assert_names(info.value, key)
    assert info.value.source == f"environment variable {variable}"
    assert f"environment variable {variable}" in str(info.value)


def test_api_key_in_an_endpoint_variable_is_refused_and_never_echoed() -> None:
    url = f"http://127.0.0.1:8765/?key={LEAKED_KEY}"
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(backend="gemini", environ={"TUNEPORT_ENDPOINT": url})
    assert_names(info.value, "endpoint")
    assert LEAKED_KEY not in str(info.value)


@pytest.mark.parametrize("value", ["inf", "1e999"])
def test_infinite_timeout_variable_is_refused(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(backend="gemini", environ={"TUNEPORT_TIMEOUT": value})
    assert_names(info.value, "timeout")


# --- the variables that choose a backend, a profile or a file -----------------------------------------


@pytest.mark.parametrize("value", ["gemni", "../vertex", "GEMINI", "gemini\n"])
def test_unknown_backend_variable(value: str) -> None:
    with pytest.raises(BackendNotFound) as info:
        tuneport.open_backend(environ={"TUNEPORT_BACKEND": value})
    assert_names(info.value, "backend")
    assert info.value.source == "$TUNEPORT_BACKEND"
    assert f"unknown backend '{value}'" in str(info.value)


@pytest.mark.parametrize("value", ["nope", "LOCAL", "local ", "profiles.local"])
def test_unknown_profile_variable(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(environ={"TUNEPORT_PROFILE": value})
    assert info.value.source == "$TUNEPORT_PROFILE"
    assert f"unknown profile '{value}'" in str(info.value)


@pytest.mark.parametrize("where", ["missing.toml", "."], ids=["missing file", "directory"])
def test_config_variable_naming_no_file(tmp_path: Path, where: str) -> None:
    path = tmp_path / where
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(environ={"TUNEPORT_CONFIG": str(path)})
    assert info.value.source == "$TUNEPORT_CONFIG"
    assert f"config file not found: {path}" in str(info.value)
