"""The entry point (group ``tuneport``, name ``inmemory``): tuneport loads this module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneport.hookspecs import hookimpl
from tuneport_inmemory.backend import InMemoryBackend


@hookimpl
def register_backends(register: Callable[[type[Any]], None]) -> None:
    register(InMemoryBackend)
