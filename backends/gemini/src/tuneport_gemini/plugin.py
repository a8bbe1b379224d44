"""Entry point of the gemini backend (group ``tuneport``, name ``gemini``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneport.hookspecs import hookimpl
from tuneport_gemini.backend import GeminiBackend


@hookimpl
def register_backends(register: Callable[[type[Any]], None]) -> None:
    register(GeminiBackend)


@hookimpl
def register_catalog(register: Callable[[Any], None], set_policy: Callable[[str, str, str], None]) -> None:
    # Imported here, not at the top: resolving the backend (``open_backend``) loads
    # this module but needs no catalog, whose models and TOML parser cost start-up time.
    from importlib import resources

    from tuneport.catalog import register_toml

    text = resources.files("tuneport_gemini").joinpath("catalog.toml").read_text(encoding="utf-8")
    register_toml(text, source="tuneport_gemini/catalog.toml", register=register, set_policy=set_policy)
