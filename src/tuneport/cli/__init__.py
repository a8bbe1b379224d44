"""The ``tuneport`` command-line interface (click + rich, imported lazily)."""

from tuneport.cli.app import main

__all__ = ["main"]
