"""Settings of the gemini backend (validated from a profile, env and keywords)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from tuneport.protocol import BackendSettings

DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"


class GeminiSettings(BackendSettings):
    """How to reach and authenticate to the Gemini API.

    ``api_key`` comes from the profile or ``TUNEPORT_API_KEY``; reading
    ``GEMINI_API_KEY``/``GOOGLE_API_KEY`` and Application Default Credentials
    (``auth = "adc"``, billed to ``quota_project``) arrive with the backend's
    operations.
    """

    endpoint: str | None = DEFAULT_ENDPOINT
    api_key: SecretStr | None = None
    auth: Literal["auto", "api_key", "adc", "none"] = "auto"
    quota_project: str | None = Field(default=None, min_length=1)
    api_version: Literal["v1beta"] = "v1beta"

    @field_validator("endpoint")
    @classmethod
    def _endpoint_shape(cls, value: str | None) -> str | None:
        if value is None or value == "embedded":
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL or 'embedded'")
        if "?" in value:
            raise ValueError("must not carry a query string (never put a key in a URL)")
        return value.rstrip("/")
