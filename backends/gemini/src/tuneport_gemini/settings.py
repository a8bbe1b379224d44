"""Settings of the gemini backend (validated from a profile, env and keywords)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from tuneport._endpoint import check_base_url
from tuneport.protocol import BackendSettings

DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
#: What an HTTP header value may hold here: printable ASCII, no spaces.
_HEADER_VALUE = re.compile(r"[!-~]+")


class GeminiSettings(BackendSettings):
    """How to reach and authenticate to the Gemini API.

    ``api_key`` comes from the profile, ``TUNEPORT_API_KEY``, or Google's own
    ``GEMINI_API_KEY`` / ``GOOGLE_API_KEY``.  ``auth = "adc"`` uses
    Application Default Credentials with the tuning scopes, billed to
    ``quota_project`` (``x-goog-user-project``); ``auto`` uses the key when
    there is one and ADC otherwise; ``none`` sends no credentials.  A
    declared emulator (``emulator = true``, ``endpoint = "embedded"``,
    ``TUNEPORT_EMULATOR_HOST``) needs none; any other endpoint, loopback
    included, gets them.
    """

    endpoint: str | None = DEFAULT_ENDPOINT
    api_key: SecretStr | None = None
    auth: Literal["auto", "api_key", "adc", "none"] = "auto"
    quota_project: str | None = Field(default=None, min_length=1)
    api_version: Literal["v1beta"] = "v1beta"

    @classmethod
    def environment_defaults(cls, environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
        for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):  # google-genai's order
            if environ.get(var):
                return {"api_key": (environ[var], var)}
        return {}

    @field_validator("endpoint")
    @classmethod
    def _endpoint_shape(cls, value: str | None) -> str | None:
        if value is None or value == "embedded":
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL or 'embedded'")
        if "?" in value:
            raise ValueError("must not carry a query string (never put a key in a URL)")
        return check_base_url(value).rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _key_fits_a_header(cls, value: SecretStr | None) -> SecretStr | None:
        # Sent in the x-goog-api-key header: the message must not echo the key.
        if value is not None and not _HEADER_VALUE.fullmatch(value.get_secret_value() or "x"):
            raise ValueError("must be printable ASCII without spaces (it is sent in an HTTP header)")
        return value

    @field_validator("quota_project")
    @classmethod
    def _project_fits_a_header(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER_VALUE.fullmatch(value):
            raise ValueError("must be printable ASCII without spaces (it is sent in an HTTP header)")
        return value
