"""A config or key file that holds a secret and that other users can open gives an InsecureConfigWarning."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from canary_scan import Canary
from pydantic import SecretStr

import tuneport
from tuneport.config import build_settings, load_config, resolve_profile
from tuneport.errors import ConfigError, InsecureConfigWarning
from tuneport.protocol import BackendSettings

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")

GEMINI_WITH_KEY = '[profiles.prod]\nbackend = "gemini"\napi_key = "{key}"\n'
WITHOUT_SECRETS = '[profiles.vertex]\nbackend = "vertex"\nproject = "my-project"\n'


def config_file(directory: Path, text: str, mode: int) -> Path:
    path = directory / "tuneport.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def insecure_warnings(caught: list[warnings.WarningMessage]) -> list[InsecureConfigWarning]:
    return [w.message for w in caught if isinstance(w.message, InsecureConfigWarning)]


def load_recording(path: Path) -> list[InsecureConfigWarning]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_config(path)
    return insecure_warnings(caught)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620])
def test_a_key_in_a_file_others_can_open_warns(mode: int, canary: Canary, tmp_path: Path) -> None:
    path = config_file(tmp_path, GEMINI_WITH_KEY.format(key=canary.api_key), mode)
    (warning,) = load_recording(path)
    message = str(warning)
    assert str(path) in message
    assert f"chmod 600 {path}" in message
    assert f"mode {mode:04o}" in message
    assert "api_key" in message
    assert canary.api_key not in message
    assert canary.nonce not in message
    assert (warning.path, warning.mode) == (str(path), mode)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_key_in_a_private_file_does_not_warn(mode: int, canary: Canary, tmp_path: Path) -> None:
    path = config_file(tmp_path, GEMINI_WITH_KEY.format(key=canary.api_key), mode)
    assert load_recording(path) == []


def test_a_file_without_secrets_does_not_warn(tmp_path: Path) -> None:
    path = config_file(tmp_path, WITHOUT_SECRETS, 0o644)
    assert load_recording(path) == []


@pytest.mark.parametrize("key", ["api_key", "access_token", "client_secret", "password", "hf_token"])
def test_secret_key_names_of_any_profile_are_recognised(key: str, tmp_path: Path) -> None:
    text = WITHOUT_SECRETS + f'\n[profiles.other]\nbackend = "acme"\n{key} = "s3cr3t-value"\n'
    (warning,) = load_recording(config_file(tmp_path, text, 0o644))
    assert key in str(warning)
    assert "s3cr3t-value" not in str(warning)


class TokenSettings(BackendSettings):
    """A plugin's settings whose secret has a name no rule recognises: only its type says so."""

    credentials: SecretStr | None = None


def test_a_secret_typed_setting_with_an_unusual_name_warns(tmp_path: Path) -> None:
    path = config_file(tmp_path, '[profiles.acme]\nbackend = "acme"\ncredentials = "s3cr3t-value"\n', 0o644)
    assert load_recording(path) == []  # the name says nothing...
    resolved = resolve_profile("acme", config=load_config(path), environ={})
    with pytest.warns(InsecureConfigWarning, match="credentials") as caught:
        build_settings(resolved, TokenSettings, environ={})  # ...the type does
    assert len(insecure_warnings(caught.list)) == 1


def test_connect_warns_through_the_whole_pipeline(canary: Canary, tmp_path: Path) -> None:
    path = config_file(tmp_path, GEMINI_WITH_KEY.format(key=canary.api_key), 0o644)
    with pytest.warns(InsecureConfigWarning, match="chmod 600"):
        tuneport.open_backend("prod", config=path, environ={})


def test_the_warning_can_be_turned_into_an_error(canary: Canary, tmp_path: Path) -> None:
    path = config_file(tmp_path, GEMINI_WITH_KEY.format(key=canary.api_key), 0o644)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureConfigWarning)
        with pytest.raises(InsecureConfigWarning):
            load_config(path)


def test_the_warning_is_public() -> None:
    assert tuneport.InsecureConfigWarning is InsecureConfigWarning
    assert issubclass(InsecureConfigWarning, UserWarning)
    assert not issubclass(InsecureConfigWarning, tuneport.TuneportError)


@pytest.mark.parametrize(("mode", "warns"), [(0o644, True), (0o600, False)])
def test_a_service_account_key_file_others_can_open_warns(mode: int, warns: bool, tmp_path: Path) -> None:
    key_file = tmp_path / "service-account.json"
    key_file.write_text('{"type": "service_account"}', encoding="utf-8")
    key_file.chmod(mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Credentials are read on the first request that needs them: an incomplete key is refused there.
        with (
            tuneport.connect(
                backend="vertex", project="my-project", credentials_file=key_file, environ={}
            ) as client,
            pytest.raises(ConfigError, match="service-account key"),
        ):
            client.get("123")
    found = insecure_warnings(caught)
    assert len(found) == int(warns)
    if warns:
        assert "a service-account key" in str(found[0])
        assert f"chmod 600 {key_file}" in str(found[0])
