"""The shape of the connection settings: a base URL that requests can be built on, a timeout.

Backends check their own scheme and query rules; :func:`check_base_url` adds
what every base URL needs, so a bad value is a settings error naming the key
rather than an ``httpx`` exception at the first request.  :func:`check_timeout`
bounds ``timeout`` to :data:`MAX_TIMEOUT`: a timeout of ``1e20`` seconds would
overflow the socket layer's clock on every request (``OverflowError``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["MAX_TIMEOUT", "check_base_url", "check_timeout"]

#: The longest per-request timeout a setting may give: one day, in seconds.
MAX_TIMEOUT = 86_400.0


def check_base_url(value: str) -> str:
    """Return *value* if it is a usable ``http(s)`` base URL; ``ValueError`` saying why not."""
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError("must not contain spaces or control characters")
    if "#" in value:
        raise ValueError("must not carry a fragment ('#')")
    try:
        parts = urlsplit(value)
        _ = parts.port  # ValueError for a port that is not a number in 0-65535
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if not parts.hostname:
        raise ValueError("must name a host (http(s)://HOST[:PORT][/PATH])")
    if "@" in parts.netloc:
        # user:password@ would be sent as Basic auth and shown in every log line and error.
        raise ValueError("must not carry credentials (user:password@host); give them as settings")
    return value


def check_timeout(value: float) -> float:
    """Return *value* if it is at most :data:`MAX_TIMEOUT` seconds; ``ValueError`` otherwise."""
    if value > MAX_TIMEOUT:
        raise ValueError(f"must be at most {MAX_TIMEOUT:,.0f} seconds (one day), got {value:g}")
    return value
