"""API-key checks as the Gemini API makes them, and keeping credentials out of logs.

With no key configured every request passes, with or without credentials.
With a key configured (``Emulator(require_key=...)``):

* ``Authorization: Bearer …`` passes (OAuth; the token is not checked);
* no key at all → 403 PERMISSION_DENIED "Method doesn't allow unregistered
  callers…", which is what generativelanguage.googleapis.com answers;
* a wrong key, in ``x-goog-api-key`` or ``?key=`` → 400 INVALID_ARGUMENT
  "API key not valid. Please pass a valid API key." with an ``ErrorInfo``
  detail of reason ``API_KEY_INVALID``, as Google does.

That is all a key protects on loopback.  A remote emulator (``allow_remote``)
with a key demands it on *every* route (:class:`RemoteAccessKey`, enforced
by :class:`~tuneport_emulator.guard.Guard`), as ``x-goog-api-key``, ``?key=``
or ``Authorization: Bearer <key>``.  :func:`check_key_setting` refuses a key
that could never be matched (empty, surrounding spaces, not printable ASCII)
and warns about a remote emulator without one.

The key is never logged, echoed in an error, or shown by a ``repr``.
"""

from __future__ import annotations

import hmac
import warnings
from collections.abc import Mapping

from tuneport_emulator.errors import EmulatorConfigError
from tuneport_emulator.routing import Request
from tuneport_emulator.wire import ApiError

__all__ = [
    "SECRET_QUERY_PARAMETERS",
    "ApiKeyAuth",
    "RemoteAccessKey",
    "UnprotectedRemoteWarning",
    "check_key_setting",
    "credential_kind",
]

#: Query parameters that carry credentials: never logged, never echoed.
SECRET_QUERY_PARAMETERS = frozenset({"key", "access_token", "oauth_token"})

_UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
_INVALID_KEY = "API key not valid. Please pass a valid API key."
_INVALID_TOKEN = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class UnprotectedRemoteWarning(UserWarning):
    """An emulator serves beyond loopback without a key: anyone who reaches it can drive it."""


def check_key_setting(key: str | None, *, allow_remote: bool = False) -> None:
    """Refuse a ``require_key`` that can never be matched; warn about a remote emulator without one.

    Raises :class:`~tuneport_emulator.errors.EmulatorConfigError` (``key="require_key"``)
    for an empty key (which used to turn the check off silently), one with
    surrounding whitespace (headers are trimmed) or characters outside
    printable ASCII (HTTP headers cannot carry them faithfully).  The message
    never contains the key.
    """
    if key is not None:
        if not key:
            raise EmulatorConfigError(
                "require_key is empty: give the API key clients must send, or leave it out "
                "to accept any credentials",
                key="require_key",
            )
        if key != key.strip() or not all("!" <= char <= "~" for char in key):
            raise EmulatorConfigError(
                "require_key must be printable ASCII without spaces (an HTTP header carries it)",
                key="require_key",
            )
    elif allow_remote:
        warnings.warn(
            "the emulator serves beyond loopback without a key: anyone who can reach the port can "
            "read and change its state; set require_key (--require-key or TUNEPORT_EMULATOR_KEY)",
            UnprotectedRemoteWarning,
            stacklevel=3,
        )


def _key_of(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> str | None:
    header = headers.get("x-goog-api-key")
    if header:
        return header.strip()
    values = query.get("key")
    return values[-1] if values else None


def _bearer_of(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _api_key(request: Request) -> str | None:
    return _key_of(request.headers, request.query)


def _has_bearer(request: Request) -> bool:
    return _bearer_of(request.headers) is not None


def _same(presented: str, required: str) -> bool:
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), required.encode("utf-8"))


def _invalid_key(service: str) -> ApiError:
    return ApiError(
        "INVALID_ARGUMENT",
        _INVALID_KEY,
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": service},
            }
        ],
    )


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

    def __repr__(self) -> str:
        return f"ApiKeyAuth(enabled={self.enabled}, service={self._service!r})"  # never the key

    def __call__(self, request: Request) -> None:
        if self._required is None or _has_bearer(request):
            return
        key = _api_key(request)
        if not key:
            raise ApiError("PERMISSION_DENIED", _UNREGISTERED)
        if not _same(key, self._required):
            raise _invalid_key(self._service)


class RemoteAccessKey:
    """A remote emulator's key, demanded on every route (Gemini, Vertex, Cloud Storage, admin).

    Presented as ``x-goog-api-key: <key>``, ``?key=<key>`` or
    ``Authorization: Bearer <key>``; a request passes if one of them is the
    key.  Otherwise: nothing presented → 403 PERMISSION_DENIED (unregistered
    caller); a wrong API key → 400 ``API_KEY_INVALID``; only a wrong bearer
    token → 401 UNAUTHENTICATED, Google's answers to each.
    """

    def __init__(self, key: str) -> None:
        check_key_setting(key)
        self._key = key

    def __repr__(self) -> str:
        return "RemoteAccessKey(<redacted>)"

    def check(self, headers: Mapping[str, str], query: Mapping[str, list[str]]) -> None:
        """Raise :class:`ApiError` unless the request presents the key (``headers``: lower-case names)."""
        key, bearer = _key_of(headers, query), _bearer_of(headers)
        if (key is not None and _same(key, self._key)) or (bearer is not None and _same(bearer, self._key)):
            return
        if key:
            raise _invalid_key("googleapis.com")
        if bearer is not None:
            raise ApiError(
                "UNAUTHENTICATED",
                _INVALID_TOKEN,
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        raise ApiError("PERMISSION_DENIED", _UNREGISTERED)
