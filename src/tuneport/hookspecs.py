"""Hook specifications of tuneport's plugin host (pluggy project ``tuneport``).

Hooks take a ``register`` callback rather than returning lists, so the host
can reject name collisions and tell which plugin registered what.  Hooks
evolve by adding arguments only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("tuneport")
hookimpl = pluggy.HookimplMarker("tuneport")


@hookspec
def register_backends(register: Callable[[type[Any]], None]) -> None:
    """Register backend classes: call ``register(BackendClass)`` for each."""


@hookspec
def register_catalog(register: Callable[[Any], None], set_policy: Callable[[str, str, str], None]) -> None:
    """Add model-catalog entries: ``register(entry)``; ``set_policy(backend, "allow"|"refuse", note)``."""
