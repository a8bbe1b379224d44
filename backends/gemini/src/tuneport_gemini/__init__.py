"""tuneport-gemini: the Gemini API (generativelanguage ``tunedModels``) backend."""

from tuneport_gemini.backend import GeminiBackend
from tuneport_gemini.settings import GeminiSettings

__all__ = ["GeminiBackend", "GeminiSettings"]
__version__ = "0.1.0"
