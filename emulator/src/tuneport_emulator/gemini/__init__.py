"""The Gemini API surface (generativelanguage ``tunedModels``) of the emulator."""

from __future__ import annotations

from tuneport_emulator.gemini.routes import register

__all__ = ["register"]
