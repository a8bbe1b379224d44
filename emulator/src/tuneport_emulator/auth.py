"""API-key checks as the Gemini API makes them, and keeping credentials out of logs.

With no key configured every request passes, with or without credentials.
With a key configured (``Emulator(require_key=...)``):

* ``Authorization: Bearer …`` passes (OAuth; the token is not checked);
* no key at all → 403 PERMISSION_DENIED "Method doesn't allow unregistered
  callers…", which is what generativelanguage.googleapis.com answers;
* a wrong key, in ``x-goog-api-key`` or ``?key=`` → 400 INVALID_ARGUMENT
  "API key not valid. Please pass a valid API key." with an ``ErrorInfo``
  detail of reason ``API_KEY_INVALID``, as Google does.
"""

from __future__ import annotations

import hmac

from tuneport_emulator.routing import Request
from tuneport_emulator.wire import ApiError

__all__ = ["SECRET_QUERY_PARAMETERS", "ApiKeyAuth", "credential_kind"]

#: Query parameters that carry credentials: never logged, never echoed.
SECRET_QUERY_PARAMETERS = frozenset({"key", "access_token", "oauth_token"})

_UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
_INVALID_KEY = "API key not valid. Please pass a valid API key."


def _api_key(request: Request) -> str | None:
    header = request.headers.get("x-goog-api-key")
    if header:
        return header.strip()
    values = request.query.get("key")
    return values[-1] if values else None


def _has_bearer(request: Request) -> bool:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def credential_kind(request: Request) -> str:
    """What the request authenticated with: ``"api-key"``, ``"bearer"`` or ``"none"`` (for the log)."""
    if _api_key(request):
        return "api-key"
    return "bearer" if _has_bearer(request) else "none"


class ApiKeyAuth:
    """The Gemini API's credential check (an :data:`~tuneport_emulator.routing.AuthCheck`)."""

    def __init__(
        self, required_key: str | None, *, service: str = "generativelanguage.googleapis.com"
    ) -> None:
        self._required = required_key
        self._service = service

    @property
    def enabled(self) -> bool:
        return self._required is not None

    def __call__(self, request: Request) -> None:
        if self._required is None or _has_bearer(request):
            return
        key = _api_key(request)
        if not key:
            raise ApiError("PERMISSION_DENIED", _UNREGISTERED)
        if not hmac.compare_digest(key.encode("utf-8"), self._required.encode("utf-8")):
            raise ApiError(
                "INVALID_ARGUMENT",
                _INVALID_KEY,
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": self._service},
                    }
                ],
            )
