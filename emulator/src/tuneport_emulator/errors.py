"""The emulator's own errors: it depends on nothing of tuneport's.

tuneport's CLI and ``endpoint = "embedded"`` turn these into tuneport's
``ConfigError`` (exit code 2), so a tuneport user sees one error family.
"""

from __future__ import annotations

__all__ = ["EmulatorConfigError", "EmulatorError", "StateFileError", "StateFileInUse"]


class EmulatorError(Exception):
    """The emulator could not start, or a backdoor call was refused."""


class EmulatorConfigError(EmulatorError, ValueError):
    """A setting of the emulator is invalid; ``key`` names it (``host``, ``port``, ``faults``…)."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class StateFileError(EmulatorError):
    """The state file cannot be used (in use, corrupt, of another version, unwritable)."""


class StateFileInUse(StateFileError):
    """The state file is held by another emulator (SQLite's exclusive lock): wait, or share that one."""
