"""Bad settings in profiles and keyword arguments, and bad job defaults, for each backend.

A bad value in ``[profiles.NAME]`` must raise :class:`ConfigError` naming the
file and profile (``source``, ``profile``) and the setting (``key``); the same
value as a keyword argument names ``keyword argument``.  A bad key or value in
a profile's ``job`` table is a :class:`SpecError` naming the field when a spec
is built, and no request is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from badinput_helpers import GEMINI_BASE, PAIRS, assert_names, assert_nothing_sent

import tuneport
from tuneport.client import TuningClient
from tuneport.errors import ConfigError, SpecError
from tuneport_emulator import Emulator

WriteConfig = Callable[[str], Path]

BAD_PROFILE_SETTINGS = [
    ("gemini", "timeout = '30s'", "timeout"),
    ("gemini", "timeout = -5", "timeout"),
    ("gemini", "timeout = 0", "timeout"),
    ("gemini", "timeout = nan", "timeout"),
    ("gemini", "timeout = [30]", "timeout"),
    ("gemini", "auth = 'magic'", "auth"),
    ("gemini", "auth = true", "auth"),
    ("gemini", "endpoint = 'ftp://example.test'", "endpoint"),
    ("gemini", "endpoint = 'http://127.0.0.1:8765/v1beta?key=x'", "endpoint"),
    ("gemini", "endpoint = 'http://127.0.0.1:8765\\n'", "endpoint"),
    ("gemini", "endpoint = 8765", "endpoint"),
    ("gemini", "api_version = 'v1'", "api_version"),
    ("gemini", "api_key = 12345", "api_key"),
    ("gemini", "api_key = 'two words'", "api_key"),
    ("gemini", "quota_project = ''", "quota_project"),
    ("gemini", "project = 'tuneport-test'", "project"),
    ("gemini", "apikey = 'test-key-not-real'", "apikey"),
    ("vertex", "project = 'X'", "project"),
    ("vertex", "project = 123456", "project"),
    ("vertex", "location = 'Mars-1'", "location"),
    ("vertex", "location = 'us-central1/../eu'", "location"),
    ("vertex", "staging_bucket = 'bucket with spaces'", "staging_bucket"),
    ("vertex", "staging_bucket = 'gs://'", "staging_bucket"),
    ("vertex", "labels = {Team = 'ml'}", "labels"),
    ("vertex", "labels = {team = 5}", "labels"),
    ("vertex", "labels = ['team']", "labels"),
    ("vertex", "credentials_file = 5", "credentials_file"),
    ("vertex", "api_version = 'v2'", "api_version"),
    ("vertex", "locaton = 'us-central1'", "locaton"),
    ("vertex", "region = 'us-central1'", "region"),
]


@pytest.mark.parametrize(("backend", "line", "key"), BAD_PROFILE_SETTINGS)
def test_bad_profile_setting_names_the_file_profile_and_key(
    write_config: WriteConfig, backend: str, line: str, key: str
) -> None:
    path = write_config(f"[profiles.team]\nbackend = '{backend}'\n{line}\n")
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend("team", config=path, environ={})
    assert_names(info.value, key)
    assert info.value.profile == "team"
    assert info.value.source == f"{path} [profiles.team]"


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("locaton", "location"), ("stagingbucket", "staging_bucket"), ("projet", "project")],
)
def test_misspelt_setting_gets_a_suggestion(write_config: WriteConfig, key: str, suggestion: str) -> None:
    path = write_config(f"[profiles.team]\nbackend = 'vertex'\n{key} = 'x'\n")
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend("team", config=path, environ={})
    assert f"unknown setting '{key}' for backend 'vertex'; did you mean '{suggestion}'?" in str(info.value)


def test_every_bad_setting_of_a_profile_is_listed(write_config: WriteConfig) -> None:
    path = write_config(
        "[profiles.team]\nbackend = 'vertex'\nlocation = 'Mars-1'\ntimeout = 'slow'\nzone = 1\n"
    )
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend("team", config=path, environ={})
    message = str(info.value)
    assert message.startswith("invalid settings:")
    for key in ("location", "timeout", "zone"):
        assert f"key '{key}'" in message


@pytest.mark.parametrize(
    ("backend", "settings", "key"),
    [
        ("vertex", {"project": "X"}, "project"),
        ("vertex", {"location": "europe west4"}, "location"),
        ("vertex", {"labels": {"a": {"b": "c"}}}, "labels"),
        ("gemini", {"timeout": "fast"}, "timeout"),
        ("gemini", {"api_key": "key\r\nX-Injected: 1"}, "api_key"),
        ("gemini", {"endpoint": "http://user@"}, "endpoint"),
    ],
)
def test_bad_keyword_setting_names_the_keyword(backend: str, settings: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(backend=backend, environ={}, **settings)
    assert_names(info.value, key)
    assert info.value.source == "keyword argument"


@pytest.mark.parametrize("value", ["true", "inf"])
def test_timeout_of_the_wrong_kind_is_refused(write_config: WriteConfig, value: str) -> None:
    path = write_config(f"[profiles.team]\nbackend = 'gemini'\ntimeout = {value}\n")
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend("team", config=path, environ={})
    assert_names(info.value, "timeout")


# --- job defaults -------------------------------------------------------------------------------------

BAD_JOB_DEFAULTS = [
    ("epochs = 3", "epochs"),
    ("base_model = 5", "base_model"),
    ("base_model = ''", "base_model"),
    ("epoch_count = 0", "hyperparameters.epoch_count"),
    ("epoch_count = 'three'", "hyperparameters.epoch_count"),
    ("learning_rate = -0.1", "hyperparameters.learning_rate"),
    ("labels = 'team'", "labels"),
    ("hyperparameters = {epochs = 3}", "hyperparameters.epochs"),
]


@pytest.mark.parametrize(("line", "field"), BAD_JOB_DEFAULTS)
def test_bad_job_default_is_a_spec_error_and_sends_nothing(
    write_config: WriteConfig, emulator: Emulator, line: str, field: str
) -> None:
    job = line if line.startswith("base_model") else f"base_model = '{GEMINI_BASE}'\n{line}"
    path = write_config(
        f"[profiles.team]\nbackend = 'gemini'\nendpoint = '{emulator.url}'\nemulator = true\n"
        f"[profiles.team.job]\n{job}\n"
    )
    client: TuningClient = tuneport.connect("team", config=path, environ={})
    with client, pytest.raises(SpecError) as info:
        client.create(training_data=PAIRS)
    assert_names(info.value, field)
    assert_nothing_sent(emulator)


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_profile_name_is_refused_not_defaulted(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(name, environ={})
    assert_names(info.value, "profile")
    assert "empty" in str(info.value)
