"""Authenticators for Google services: API keys and Application Default Credentials.

An API key travels only in the ``x-goog-api-key`` header, never in a URL.
OAuth credentials (ADC, service accounts) come from google-auth, imported
only when used; their token refresh runs over tuneport's HTTP layer.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from tuneport.errors import ConfigError

__all__ = [
    "ApiKeyAuthenticator",
    "CredentialsAuthenticator",
    "application_default_credentials",
    "is_local_endpoint",
]


class ApiKeyAuthenticator:
    """Sends an API key in the ``x-goog-api-key`` header."""

    blocking = False

    def __init__(self, key: str) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "ApiKeyAuthenticator(key=***)"

    def headers(self) -> Mapping[str, str]:
        return {"x-goog-api-key": self._key}

    def secrets(self) -> Iterable[str]:
        return (self._key,)


class CredentialsAuthenticator:
    """Bearer tokens from google-auth credentials, refreshed when they expire.

    ``quota_project`` is sent as ``x-goog-user-project`` (the project billed
    and whose quota is used, needed with user credentials).
    """

    blocking = True  # a refresh is a network call

    def __init__(self, credentials: Any, *, quota_project: str | None = None) -> None:
        self._credentials = credentials
        self._quota_project = quota_project
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CredentialsAuthenticator({type(self._credentials).__name__})"

    def headers(self) -> Mapping[str, str]:
        with self._lock:
            if not self._credentials.valid:
                from tuneport._http import GoogleAuthRequest

                self._credentials.refresh(GoogleAuthRequest())
            token = self._credentials.token
        headers = {"authorization": f"Bearer {token}"}
        if self._quota_project:
            headers["x-goog-user-project"] = self._quota_project
        return headers

    def secrets(self) -> Iterable[str]:
        token = getattr(self._credentials, "token", None)
        return (token,) if token else ()


def application_default_credentials(
    scopes: Sequence[str], *, service: str, hint: str, key: str = "auth"
) -> Any:
    """ADC with *scopes*, or a :class:`ConfigError` saying how to provide credentials."""
    import google.auth
    import google.auth.exceptions

    try:
        credentials, _project = google.auth.default(scopes=list(scopes))
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise ConfigError(f"no credentials for {service}: {hint} ({exc})", key=key) from None
    return credentials


def is_local_endpoint(endpoint: str | None) -> bool:
    """True for the embedded emulator and loopback URLs (no credentials needed there)."""
    if endpoint is None:
        return False
    if endpoint == "embedded":
        return True
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
