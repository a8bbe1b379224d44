"""Secrets: what counts as one (by a setting's name or pydantic type), and masking them in text.

One definition for the checks that guard secrets: the config-file permission
warning and the plugin host's check that a backend keeps its secrets in
``SecretStr`` (which stays masked in reprs, logs and ``model_dump``); and
:func:`redact`, which every error message goes through before it is formatted
(re-exported as ``tuneport.errors.redact``, its documented spelling).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, get_args, get_origin

__all__ = ["is_secret_name", "is_secret_type", "redact"]

#: api_key, access_token, client_secret, password… whatever the backend.
_SECRET_NAME = r"(?:^|_)(?:api_?key|key|token|secret|password|passphrase)$"

# Shapes of credentials that must never be echoed: Google API keys, OAuth
# access tokens, bearer headers and key=... query (or form) parameters.
_SECRET_SHAPES = (
    r"AIza[0-9A-Za-z_\-]{20,}",
    r"ya29\.[0-9A-Za-z_\-.]+",
    r"(?i)(bearer\s+)[0-9A-Za-z_\-.~+/=]+",
    r"(?i)([?&](?:key|access_token|api_key|refresh_token|client_secret)=)[^&\s]+",
)


@functools.cache
def _secret_name_pattern() -> re.Pattern[str]:
    # Compiled on first use, as the shapes are: `tuneport.errors` imports this module.
    return re.compile(_SECRET_NAME, re.IGNORECASE)


@functools.cache
def _secret_patterns() -> tuple[re.Pattern[str], ...]:
    # Compiled on first use: keeps `import tuneport.errors` cheap.
    return tuple(re.compile(shape) for shape in _SECRET_SHAPES)


def is_secret_name(name: str) -> bool:
    """Whether a setting's name says it holds a secret."""
    return bool(_secret_name_pattern().search(name))


def is_secret_type(annotation: Any) -> bool:
    """Whether a field's type is, or holds, pydantic's ``SecretStr``, ``SecretBytes`` or ``Secret[...]``."""
    import pydantic

    secret_types = (pydantic.SecretStr, pydantic.SecretBytes, pydantic.Secret)
    if isinstance(annotation, type) and issubclass(annotation, secret_types):
        return True
    origin = get_origin(annotation)
    if isinstance(origin, type) and issubclass(origin, secret_types):
        return True
    return any(is_secret_type(arg) for arg in get_args(annotation))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return *text* with known secret shapes and the given *secrets* masked.

    Each secret is masked as it is and URL-encoded, as a server may echo it from
    a query string or a form body.
    """
    from urllib.parse import quote, quote_plus

    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret))):
                text = text.replace(form, "***")
    for pattern in _secret_patterns():
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text
