"""Canary scans of configuration: files, profiles, settings, their reprs and dumps, and config errors.

The key is given every way tuneport accepts one (config file, ``TUNEPORT_API_KEY``,
``GEMINI_API_KEY``, keyword); each object that holds it on the way to the
backend is scanned, as is each configuration error about a profile that holds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from canary_gather import DebugLog, gather_error
from canary_lifecycle import BAD_PROFILES, bad_config_file, write_private
from canary_scan import Canary, Evidence, assert_no_leak

import tuneport
from tuneport.config import build_settings, load_config, resolve_profile
from tuneport.errors import ConfigError
from tuneport_gemini import GeminiSettings


def gemini_profile(canary: Canary) -> str:
    return f'[profiles.canary]\nbackend = "gemini"\napi_key = "{canary.api_key}"\n'


def test_config_objects_show_no_key(canary: Canary, evidence: Evidence, tmp_path: Path) -> None:
    path = write_private(tmp_path / "tuneport.toml", gemini_profile(canary))
    config = load_config(path)
    resolved = resolve_profile("canary", config=config, environ={})
    settings = build_settings(resolved, GeminiSettings, environ={})
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == canary.api_key  # the key is really there
    evidence.add_object("ConfigFile", config)
    evidence.add_object("ResolvedProfile", resolved)
    for key, setting in resolved.settings.items():
        evidence.add_object(f"Setting {key}", setting)
    evidence.add_object("GeminiSettings", settings)
    assert_no_leak(evidence, canary)


KEY_SOURCES = ["config file", "TUNEPORT_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "keyword"]


@pytest.mark.parametrize("source", KEY_SOURCES)
def test_a_key_from_any_source_shows_nowhere(
    source: str, canary: Canary, debug_log: DebugLog, evidence: Evidence, tmp_path: Path
) -> None:
    options: dict[str, Any] = {
        "backend": "gemini",
        "environ": {},
        "endpoint": "https://gemini.canary.example",
    }
    if source == "config file":
        options["config"] = write_private(tmp_path / "tuneport.toml", gemini_profile(canary))
        options["profile"] = "canary"
    elif source == "keyword":
        options["api_key"] = canary.api_key
    else:
        options["environ"] = {source: canary.api_key}
    backend = tuneport.open_backend(**options)
    authenticator = backend.authenticator()
    assert authenticator is not None
    assert dict(authenticator.headers()) == {"x-goog-api-key": canary.api_key}
    evidence.add_object("backend", backend)
    evidence.add_object("settings", backend.settings)
    evidence.add_object("authenticator", authenticator)
    spec = {"base_model": "models/gemini-1.5-flash-001-tuning", "training_data": [("1", "2")]}
    settings: dict[str, Any] = {k: options.pop(k) for k in ("endpoint", "api_key") if k in options}
    report = tuneport.validate(spec, settings=settings, **options)
    evidence.add_object("preflight report", report)
    evidence.add("preflight plan", json.dumps(report.plan, default=str))
    evidence.add("DEBUG log (all loggers)", debug_log.text)
    assert_no_leak(evidence, canary)


@pytest.mark.parametrize("problem", sorted(BAD_PROFILES))
def test_configuration_errors_show_no_key(
    problem: str, canary: Canary, debug_log: DebugLog, evidence: Evidence, tmp_path: Path
) -> None:
    path = bad_config_file(tmp_path, canary, problem)
    with pytest.raises(ConfigError) as info:
        tuneport.connect("canary", config=path, environ={})
    gather_error(evidence, problem, info.value)
    evidence.add("DEBUG log (all loggers)", debug_log.text)
    assert_no_leak(evidence, canary)


def test_a_profile_for_the_wrong_backend_shows_no_key(
    canary: Canary, evidence: Evidence, tmp_path: Path
) -> None:
    """A vertex profile holding a Gemini key: refused as an unknown setting, by name only."""
    body = f'[profiles.canary]\nbackend = "vertex"\napi_key = "{canary.api_key}"\n'
    path = write_private(tmp_path / "tuneport.toml", body)
    with pytest.raises(ConfigError, match="unknown setting 'api_key'") as info:
        tuneport.open_backend("canary", config=path, environ={})
    gather_error(evidence, "vertex profile with api_key", info.value)
    assert_no_leak(evidence, canary)
