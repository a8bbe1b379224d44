"""tuneport-inmemory: an example backend plugin (tuning jobs in memory)."""

from tuneport_inmemory.backend import InMemoryBackend, InMemorySettings
from tuneport_inmemory.service import InMemoryService, service

__all__ = ["InMemoryBackend", "InMemoryService", "InMemorySettings", "service"]
__version__ = "0.1.0"
