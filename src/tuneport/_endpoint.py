"""The shape of an ``endpoint`` setting: a base URL that requests can be built on.

Backends check their own scheme and query rules; :func:`check_base_url` adds
what every base URL needs, so a bad value is a settings error naming the key
rather than an ``httpx`` exception at the first request.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["check_base_url"]


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
