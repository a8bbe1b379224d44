"""The CLI's offline emulator: one state file shared by every command.

A profile with ``endpoint = "embedded"`` (the built-in ``local`` profile
among them) gives each ``tuneport`` command an in-process emulator.  So
that ``tuneport create`` and a later ``tuneport get`` see the same job, the
CLI keeps that emulator's state in a SQLite file: ``$TUNEPORT_EMULATOR_STATE``
when set, else ``emulator-state.sqlite`` in the user's cache directory.  Its
clock is saved with it and keeps running while no command runs (a scaled
clock adds the downtime on the next start).  Python programs are not
concerned: :func:`tuneport.connect` keeps a private emulator per client.

The file is held exclusively by one emulator at a time: a command that
finds it held waits up to :data:`LOCK_WAIT` seconds, then raises
:class:`~tuneport.errors.EmulatorStateInUse`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from tuneport.errors import EmulatorStateInUse

__all__ = ["LOCK_WAIT", "STATE_FILE_NAME", "offline_state_path", "open_waiting", "reset_state"]

STATE_FILE_NAME = "emulator-state.sqlite"
STATE_VARIABLE = "TUNEPORT_EMULATOR_STATE"
#: Seconds a command waits for another command to release the state file.
LOCK_WAIT = 10.0
#: Seconds between two attempts while waiting.
LOCK_POLL = 0.1
#: What SQLite keeps beside a database while it is open (or after a crash).
_COMPANIONS = ("-wal", "-shm", "-journal")

T = TypeVar("T")


def offline_state_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the CLI's embedded emulator keeps its state (the directory is not created)."""
    env = os.environ if environ is None else environ
    explicit = env.get(STATE_VARIABLE, "").strip()
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_cache_dir("tuneport")) / STATE_FILE_NAME


def open_waiting(
    opener: Callable[[], T],
    *,
    on_wait: Callable[[str], None],
    wait: float | None = None,
    poll: float = LOCK_POLL,
) -> T:
    """``opener()``, tried again while another emulator holds the state file, for ``wait`` seconds
    (default: :data:`LOCK_WAIT`).

    ``on_wait`` is called once, with the file's path, when the first attempt
    finds the file held.
    """
    wait = LOCK_WAIT if wait is None else wait
    deadline = time.monotonic() + wait
    waited = False
    while True:
        try:
            return opener()
        except EmulatorStateInUse as exc:
            if time.monotonic() >= deadline:
                raise EmulatorStateInUse(exc.path, waited=wait) from None
            if not waited:
                on_wait(exc.path)
                waited = True
            time.sleep(poll)


def reset_state(path: Path) -> bool:
    """Delete a state file, its SQLite companions and its objects; whether there was anything.

    Refused (:class:`~tuneport.errors.EmulatorStateInUse`) while an emulator
    holds the file.  A file that is not a database (or of another format
    version) is deleted all the same: resetting is the way out of it.
    """
    if path.exists() and _held(path):
        raise EmulatorStateInUse(str(path))
    removed = False
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in _COMPANIONS)):
        if candidate.is_file():
            candidate.unlink()
            removed = True
    objects = Path(f"{path}.objects")  # where the emulator keeps the stored objects' bytes
    if objects.is_dir():
        shutil.rmtree(objects)
        removed = True
    return removed


def _held(path: Path) -> bool:
    """Whether another connection holds ``path`` (an emulator opens it in exclusive mode)."""
    try:
        db = sqlite3.connect(path, timeout=0, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        db.execute("BEGIN EXCLUSIVE")
        db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return "locked" in str(exc)  # "not a database" and the like: nobody holds it
    finally:
        db.close()
    return False
