"""Entry point of the gemini backend (group ``tuneport``, name ``gemini``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneport.hookspecs import hookimpl
from tuneport_gemini.backend import GeminiBackend


@hookimpl
def register_backends(register: Callable[[type[Any]], None]) -> None:
    register(GeminiBackend)
