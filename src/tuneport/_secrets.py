"""What counts as a secret setting: by its name, or by its pydantic type.

One definition for the checks that guard secrets: the config-file permission
warning and the plugin host's check that a backend keeps its secrets in
``SecretStr`` (which stays masked in reprs, logs and ``model_dump``).
"""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

__all__ = ["is_secret_name", "is_secret_type"]

#: api_key, access_token, client_secret, password… whatever the backend.
_SECRET_NAME = re.compile(r"(?:^|_)(?:api_?key|key|token|secret|password|passphrase)$", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether a setting's name says it holds a secret."""
    return bool(_SECRET_NAME.search(name))


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
