"""Entry point of the vertex backend (group ``tuneport``, name ``vertex``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneport.hookspecs import hookimpl
from tuneport_vertex.backend import VertexBackend


@hookimpl
def register_backends(register: Callable[[type[Any]], None]) -> None:
    register(VertexBackend)


@hookimpl
def register_catalog(register: Callable[[Any], None], set_policy: Callable[[str, str, str], None]) -> None:
    # Imported here, not at the top: resolving the backend (``open_backend``) loads
    # this module but needs no catalog, whose models and TOML parser cost start-up time.
    from importlib import resources

    from tuneport.catalog import register_toml

    text = resources.files("tuneport_vertex").joinpath("catalog.toml").read_text(encoding="utf-8")
    register_toml(text, source="tuneport_vertex/catalog.toml", register=register, set_policy=set_policy)
