"""Settings and registration of the gemini backend."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tuneport.plugins import PluginHost
from tuneport.protocol import Maturity
from tuneport_gemini import GeminiBackend, GeminiSettings

CANARY = "AIzaSyCANARY0123456789abcdefghijklmno"


def test_registered_through_the_entry_point() -> None:
    host = PluginHost(environ={"TUNEPORT_LOAD_PLUGINS": "gemini"})
    entry = host.backend("gemini")
    assert entry.backend_class is GeminiBackend
    assert entry.distribution == "tuneport-gemini"
    assert entry.plugin == "gemini"


def test_defaults_point_at_the_real_service() -> None:
    settings = GeminiSettings()
    assert settings.endpoint == "https://generativelanguage.googleapis.com"
    assert settings.auth == "auto"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("endpoint", "generativelanguage.googleapis.com"),
        ("endpoint", "https://example.test/?key=abc"),
        ("auth", "password"),
        ("api_version", "v2"),
        ("timeout", 0),
        ("quota_project", ""),
        ("unknown_key", 1),
    ],
)
def test_bad_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        GeminiSettings.model_validate({field: value})
    assert info.value.errors()[0]["loc"][0] == field


def test_api_key_is_masked_in_reprs() -> None:
    settings = GeminiSettings(api_key=CANARY)
    backend = GeminiBackend(settings)
    assert CANARY not in repr(settings)
    assert CANARY not in repr(backend)
    assert CANARY not in str(settings.model_dump())


def test_embedded_endpoint_and_trailing_slash() -> None:
    assert GeminiSettings(endpoint="embedded").endpoint == "embedded"
    assert GeminiSettings(endpoint="http://127.0.0.1:8765/").endpoint == "http://127.0.0.1:8765"


def test_backend_is_complete() -> None:
    backend = GeminiBackend()
    assert backend.maturity is Maturity.STABLE
    assert {str(op) for op in backend.capabilities.operations} == {
        "create",
        "list",
        "get",
        "cancel",
        "delete",
        "generate",
        "metrics",
    }


def test_api_key_from_google_variables() -> None:
    assert GeminiSettings.environment_defaults({"GOOGLE_API_KEY": "g"}) == {
        "api_key": ("g", "GOOGLE_API_KEY")
    }
    both = GeminiSettings.environment_defaults({"GOOGLE_API_KEY": "g", "GEMINI_API_KEY": "k"})
    assert both == {"api_key": ("k", "GEMINI_API_KEY")}
    assert GeminiSettings.environment_defaults({}) == {}
