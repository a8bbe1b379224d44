"""Entry point of the vertex backend (group ``tuneport``, name ``vertex``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneport.hookspecs import hookimpl
from tuneport_vertex.backend import VertexBackend


@hookimpl
def register_backends(register: Callable[[type[Any]], None]) -> None:
    register(VertexBackend)
