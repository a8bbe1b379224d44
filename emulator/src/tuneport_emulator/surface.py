"""What a surface (the Gemini API, Vertex AI, the admin routes) gets to register its routes.

A surface is a function ``register(router, context)``.  It adds its routes
to the shared :class:`~tuneport_emulator.routing.Router` and keeps its
records in its own section of the shared store, so one server on one port
serves every surface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tuneport_emulator.auth import ApiKeyAuth
from tuneport_emulator.clock import EmulatorClock
from tuneport_emulator.faults import FaultInjector
from tuneport_emulator.ids import IdSource
from tuneport_emulator.routing import Router
from tuneport_emulator.storage.files import ObjectFiles
from tuneport_emulator.store import Store

__all__ = ["EmulatorContext", "Surface"]


@dataclass(frozen=True)
class EmulatorContext:
    """The shared machinery a surface works with."""

    store: Store
    clock: EmulatorClock
    ids: IdSource
    #: The Gemini-API-style key check (no-op unless a key is required).
    api_key_auth: ApiKeyAuth
    #: Which requests fail on purpose (off unless a fault spec is configured).
    faults: FaultInjector = field(default_factory=FaultInjector)
    #: Where Cloud Storage objects keep their bytes (a temporary directory unless given).
    object_files: ObjectFiles = field(default_factory=ObjectFiles)


Surface = Callable[[Router, EmulatorContext], None]
