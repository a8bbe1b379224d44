"""A minimal Cloud Storage JSON API: upload (media, multipart, resumable), get, download, list, delete.

Enough for staging tuning datasets (the vertex backend, google-cloud-storage,
``gsutil``-style clients) and for the Vertex surface's jobs to read them back.
See docs/emulator.md for what is faithful and what is simplified.
"""

from __future__ import annotations

from tuneport_emulator.storage.objects import MAX_OBJECT_BYTES, Objects
from tuneport_emulator.storage.routes import register

__all__ = ["MAX_OBJECT_BYTES", "Objects", "register"]
