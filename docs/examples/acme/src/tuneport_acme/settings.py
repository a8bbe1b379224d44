"""Settings of the acme backend: a profile's keys, ``TUNEPORT_*`` variables, keywords."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr, field_validator

from tuneport.protocol import BackendSettings


class AcmeSettings(BackendSettings):
    """Where Acme Tune is, and the key to reach it (``timeout`` comes from BackendSettings)."""

    endpoint: str | None = "https://tune.acme.example"
    api_key: SecretStr | None = None

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        # Refuses "embedded" too: tuneport's emulator does not serve Acme Tune.
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @classmethod
    def environment_defaults(cls, environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
        # Acme's own variable: the lowest precedence, below the profile and TUNEPORT_API_KEY.
        if environ.get("ACME_API_KEY"):
            return {"api_key": (environ["ACME_API_KEY"], "ACME_API_KEY")}
        return {}
