"""Authenticators for Google services: API keys and Application Default Credentials.

An API key travels only in the ``x-goog-api-key`` header, never in a URL.
OAuth credentials (ADC, service accounts) come from google-auth, imported
only when used; their token refresh runs over httpx (:class:`GoogleAuthRequest`).
:func:`warn_if_shared` warns when a key file is open to other users, the
Application Default Credentials file included; only a regular file is read.

Whether an endpoint is an emulator is declared in the settings
(``emulator = true``, ``endpoint = "embedded"``, ``TUNEPORT_EMULATOR_HOST``),
never guessed from its address: a loopback URL may be an authenticating proxy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tuneport._file_permissions import not_a_regular_file, warn_if_shared
from tuneport._secrets import redact
from tuneport.errors import APIConnectionError, APIError, ConfigError

__all__ = [
    "ApiKeyAuthenticator",
    "CredentialsAuthenticator",
    "GoogleAuthRequest",
    "application_default_credentials",
    "warn_if_shared",
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
                self._refresh()
            token = self._credentials.token
        headers = {"authorization": f"Bearer {token}"}
        if self._quota_project:
            headers["x-goog-user-project"] = self._quota_project
        return headers

    def _refresh(self) -> None:
        """Get a new token; a failure is an :class:`APIError` that quotes none of the secrets."""
        import google.auth.exceptions

        url = getattr(self._credentials, "token_uri", None)
        error: APIError
        try:
            self._credentials.refresh(GoogleAuthRequest())
        except google.auth.exceptions.TransportError as exc:
            # The API request itself never left: safe to send again.
            error = APIConnectionError(self._refresh_failed(exc), method="POST", url=url, request_sent=False)
        except google.auth.exceptions.GoogleAuthError as exc:  # RefreshError: revoked, expired…
            error = APIError(self._refresh_failed(exc), method="POST", url=url)
        else:
            return
        # Raised outside the except block, so google-auth's error is not kept as __context__:
        # it quotes the token endpoint's answer, which may echo the refresh token.
        raise error

    def _refresh_failed(self, exc: Exception) -> str:
        detail = str(exc.args[0]) if exc.args else type(exc).__name__
        return f"could not refresh the OAuth credentials: {redact(detail, self.secrets())}"

    def secrets(self) -> Iterable[str]:
        # The token, and what refreshes it: a token endpoint's error may echo them.
        names = ("token", "refresh_token", "client_secret")
        values = (getattr(self._credentials, name, None) for name in names)
        return tuple(value for value in values if isinstance(value, str) and value)


def application_default_credentials(
    scopes: Sequence[str], *, service: str, hint: str, key: str = "auth"
) -> Any:
    """ADC with *scopes*, or a :class:`ConfigError` saying how to provide credentials.

    The file ADC would read (``$GOOGLE_APPLICATION_CREDENTIALS``, else gcloud's
    well-known file) is checked first: anything but a regular file is refused (a
    FIFO would block, ``/dev/zero`` fill memory), and one that other users can
    access gives an :class:`~tuneport.errors.InsecureConfigWarning`.
    """
    import google.auth
    import google.auth.exceptions

    adc_file = _adc_file()
    if adc_file is not None:
        reason = not_a_regular_file(adc_file)
        if reason is not None:
            raise ConfigError(f"cannot use the Application Default Credentials file: {reason}", key=key)
        warn_if_shared(adc_file, holding="Application Default Credentials")
    try:
        credentials, _project = google.auth.default(scopes=list(scopes))
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise ConfigError(f"no credentials for {service}: {hint} ({exc})", key=key) from None
    return credentials


def _adc_file() -> Path | None:
    """The credentials file ``google.auth.default()`` would read first, if any."""
    explicit = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if explicit:
        return Path(explicit)
    try:
        from google.auth import _cloud_sdk

        well_known = Path(_cloud_sdk.get_application_default_credentials_path())  # type: ignore[no-untyped-call]
    except Exception:
        return None
    return well_known if os.path.lexists(well_known) else None


class GoogleAuthRequest:
    """google-auth's transport interface over httpx, for token refreshes.

    Implements ``google.auth.transport.Request`` (a callable returning an
    object with ``status``, ``headers`` and ``data``) so credentials refresh
    through tuneport's HTTP layer instead of requiring ``requests``.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self._timeout = timeout

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: object,
    ) -> _AuthResponse:
        import google.auth.exceptions
        import httpx

        try:
            with httpx.Client(timeout=timeout or self._timeout) as client:
                response = client.request(method, url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            # google-auth expects its own error type for transport failures.
            raise google.auth.exceptions.TransportError(redact(str(exc))) from None  # type: ignore[no-untyped-call]
        return _AuthResponse(response.status_code, dict(response.headers), response.content)


class _AuthResponse:
    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data
