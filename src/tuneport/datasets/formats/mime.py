"""MIME types of file URIs, from a fixed table (never the machine's mime database).

:mod:`mimetypes` reads ``/etc/mime.types`` and the registry, so its answers
differ between machines; a conversion must give the same file everywhere.
The table holds the image types chat fine-tuning accepts plus the file types
Gemini tuning documents.
"""

from __future__ import annotations

__all__ = ["guess_mime_type"]

_BY_EXTENSION = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
}


def guess_mime_type(uri: str) -> str | None:
    """The image MIME type of *uri* from a ``data:`` header or the path's extension."""
    if uri.startswith("data:"):
        header = uri[5:].split(",", 1)[0]
        mime = header.split(";", 1)[0]
        return mime or None
    # The path without query or fragment (urlsplit would do, at ten times the cost).
    path = uri
    for mark in ("?", "#"):
        cut = path.find(mark)
        if cut >= 0:
            path = path[:cut]
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    return _BY_EXTENSION.get(path[dot:].lower())
