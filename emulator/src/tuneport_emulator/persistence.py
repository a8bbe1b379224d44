"""``--state FILE``: the emulator's records in SQLite, committed before each answer.

The store's state is plain JSON: its typed records rendered by their
``to_json`` (see :mod:`tuneport_emulator.store`), decoded again by their
collections on first access after a load.  This module keeps it in a SQLite
file, one row per record: a record is an entry
two levels under a section (``gemini/tunedModels/<name>``,
``storage/buckets/<bucket>``…) or a counter.  After every request the
emulator calls :meth:`StateFile.save`, which compares each record with what
was last written and, in one transaction, writes the changed ones and deletes
the gone ones — so a crash leaves either the old state or the new, never a
mix, and an answer is only sent once what it reports is on disk.

Large strings (staged objects, upload chunks) are stored once in a ``blobs``
table and referenced from their record, so re-writing a bucket's record does
not re-write its objects' bytes.  The emulator clock is saved too: a restarted
emulator's time continues from where it was (plus the downtime, for a scaled
clock), never backwards.  The request log is not persisted.

The file is opened in SQLite's exclusive locking mode: a second emulator on
the same file is refused rather than allowed to interleave its writes.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tuneport_emulator.clock import EmulatorClock
from tuneport_emulator.errors import StateFileError, StateFileInUse
from tuneport_emulator.state_upgrade import UPGRADABLE_VERSIONS, upgrade_state

__all__ = ["FORMAT_VERSION", "StateFile", "StateFileError"]

#: Bumped when the layout changes; a file of another version is refused, not guessed at.
#: 2: typed records (training plans keep examples, batch size and epochs, not step counts;
#: Vertex names carry project numbers).  Version 1 files are upgraded (:mod:`.state_upgrade`).
FORMAT_VERSION = 2
#: Strings at least this long are stored in the blobs table.
_BLOB_THRESHOLD = 16 * 1024
#: Marks a reference to a blob inside a stored record (a key no request can produce: NUL).
_BLOB_REF = "\x00blob"
_COUNTERS = "\x00counters"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (path TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, encoding TEXT NOT NULL, data BLOB NOT NULL);
"""

Path_ = tuple[str, ...]


class StateFile:
    """One emulator's state file; :meth:`load` once, then :meth:`save` after each change."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            # isolation_level=None: transactions are explicit (BEGIN … COMMIT below).
            self._db = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a committed transaction survives the process dying; only a
            # power loss may drop the last ones (never half of one).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        #: What each record was when last written (deep copies), to find changes.
        self._written: dict[Path_, Any] = {}
        #: Blob keys referenced by each record.
        self._record_blobs: dict[Path_, set[str]] = {}
        #: id(string) → (the string, its blob key); holding the string keeps the id valid.
        self._blob_of: dict[int, tuple[str, str]] = {}
        self._blob_refcount: dict[str, int] = {}
        self._blob_seq = 0
        self._clock_written: tuple[float, float] | None = None
        #: The version a loaded file was upgraded from; the next save writes the current one.
        self._upgraded_from: str | None = None

    def _error(self, exc: sqlite3.Error) -> StateFileError:
        prefix = f"cannot use the emulator state file {self.path}"
        if "locked" in str(exc):
            return StateFileInUse(f"{prefix}: it is in use by another emulator")
        return StateFileError(f"{prefix}: {exc}")

    # --- loading ---------------------------------------------------------------------------

    def load(self) -> tuple[dict[str, Any], float | None]:
        """The stored state (``{"sections", "counters"}``) and the emulator time to resume from."""
        try:
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if "version" not in meta:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('version', ?)", (str(FORMAT_VERSION),)
                )
            elif meta["version"] in UPGRADABLE_VERSIONS:
                self._upgraded_from = meta["version"]
            elif meta["version"] != str(FORMAT_VERSION):
                raise StateFileError(
                    f"the emulator state file {self.path} has format version {meta['version']}; "
                    f"this tuneport reads version {FORMAT_VERSION}"
                )
            blobs = {
                key: bytes(data).decode(encoding, "surrogatepass")
                for key, encoding, data in self._db.execute("SELECT key, encoding, data FROM blobs")
            }
            rows = self._db.execute("SELECT path, value FROM records").fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        state: dict[str, Any] = {"sections": {}, "counters": {}}
        for path_text, value_text in rows:
            try:
                path = tuple(json.loads(path_text))
                value = self._restore(json.loads(value_text), blobs, path)
            except (ValueError, KeyError) as exc:
                raise StateFileError(f"the emulator state file {self.path} is corrupt: {exc}") from None
            self._place(state, path, value)
            self._written[path] = copy.deepcopy(value)
        for key, _ in blobs.items():
            self._blob_seq = max(self._blob_seq, int(key) if key.isdigit() else 0)
        if self._upgraded_from is not None:
            try:
                state = upgrade_state(state, self._upgraded_from)
            except (ValueError, KeyError, TypeError) as exc:
                raise StateFileError(f"the emulator state file {self.path} is corrupt: {exc!r}") from None
        return state, _resume_time(meta.get("clock"))

    def _restore(self, value: Any, blobs: dict[str, str], path: Path_) -> Any:
        if isinstance(value, dict):
            if set(value) == {_BLOB_REF}:
                key = value[_BLOB_REF]
                text = blobs[key]
                self._remember_blob(text, key, path)
                return text
            return {k: self._restore(v, blobs, path) for k, v in value.items()}
        if isinstance(value, list):
            return [self._restore(v, blobs, path) for v in value]
        return value

    def _remember_blob(self, text: str, key: str, path: Path_) -> None:
        self._blob_of[id(text)] = (text, key)
        refs = self._record_blobs.setdefault(path, set())
        if key not in refs:
            refs.add(key)
            self._blob_refcount[key] = self._blob_refcount.get(key, 0) + 1

    @staticmethod
    def _place(state: dict[str, Any], path: Path_, value: Any) -> None:
        if path[0] == _COUNTERS:
            state["counters"][path[1]] = value
            return
        holder = state["sections"].setdefault(path[0], {})
        if len(path) == 2:
            holder[path[1]] = value
        else:
            holder.setdefault(path[1], {})[path[2]] = value

    # --- saving ----------------------------------------------------------------------------

    def save(self, state: dict[str, Any], clock: EmulatorClock) -> bool:
        """Write what changed since the last save in one transaction; whether anything was written.

        Call with the store's lock held, so ``state`` is consistent.
        """
        current = dict(_records(state))
        written = self._written
        changed = [(path, value) for path, value in current.items() if written.get(path, _MISSING) != value]
        gone = [path for path in self._written if path not in current]
        now, wall = clock.now(), time.time()
        clock_now = (now, wall)
        clock_moved = self._clock_written is None or _clock_moved(self._clock_written, clock_now, clock)
        if not changed and not gone and not clock_moved and self._upgraded_from is None:
            return False
        new_blobs: list[tuple[str, str, bytes]] = []
        record_rows: list[tuple[str, str]] = []
        new_refs: dict[Path_, set[str]] = {}
        for path, value in changed:
            refs: set[str] = set()
            encoded = self._encode(value, refs, new_blobs)
            record_rows.append((json.dumps(list(path)), json.dumps(encoded, ensure_ascii=False)))
            new_refs[path] = refs
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR IGNORE INTO blobs VALUES (?, ?, ?)", new_blobs)
            self._db.executemany("INSERT OR REPLACE INTO records (path, value) VALUES (?, ?)", record_rows)
            self._db.executemany("DELETE FROM records WHERE path = ?", [(json.dumps(list(p)),) for p in gone])
            released = self._release_blobs(gone, new_refs)
            self._db.executemany("DELETE FROM blobs WHERE key = ?", [(key,) for key in released])
            if self._upgraded_from is not None:  # the records above are in today's layout now
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)", (str(FORMAT_VERSION),)
                )
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('clock', ?)",
                (json.dumps({"mode": clock.mode, "speed": clock.speed, "now": now, "wall": wall}),),
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._forget_new_blobs(new_blobs)
            raise self._error(exc) from None
        for path, value in changed:
            self._written[path] = copy.deepcopy(value)
        for path in gone:
            del self._written[path]
        self._clock_written = clock_now
        self._upgraded_from = None
        return True

    def _encode(self, value: Any, refs: set[str], new_blobs: list[tuple[str, str, bytes]]) -> Any:
        if isinstance(value, str) and len(value) >= _BLOB_THRESHOLD:
            known = self._blob_of.get(id(value))
            if known is None or known[0] is not value:
                self._blob_seq += 1
                key = str(self._blob_seq)
                self._blob_of[id(value)] = (value, key)
                try:
                    new_blobs.append((key, "latin-1", value.encode("latin-1")))
                except UnicodeEncodeError:
                    new_blobs.append((key, "utf-8", value.encode("utf-8", "surrogatepass")))
            else:
                key = known[1]
            refs.add(key)
            return {_BLOB_REF: key}
        if isinstance(value, dict):
            return {k: self._encode(v, refs, new_blobs) for k, v in value.items()}
        if isinstance(value, list):
            return [self._encode(v, refs, new_blobs) for v in value]
        return value

    def _release_blobs(self, gone: list[Path_], new_refs: dict[Path_, set[str]]) -> list[str]:
        """Update blob reference counts; the keys no record uses any more."""
        for path, refs in new_refs.items():
            for key in refs - self._record_blobs.get(path, set()):
                self._blob_refcount[key] = self._blob_refcount.get(key, 0) + 1
        released: list[str] = []
        for path in [*gone, *new_refs]:
            old = self._record_blobs.pop(path, set())
            for key in old - new_refs.get(path, set()):
                self._blob_refcount[key] -= 1
                if self._blob_refcount[key] <= 0:
                    del self._blob_refcount[key]
                    released.append(key)
        for path, refs in new_refs.items():
            if refs:
                self._record_blobs[path] = refs
        if released:
            dropped = set(released)
            for ident, (_, key) in list(self._blob_of.items()):
                if key in dropped:
                    del self._blob_of[ident]
        return released

    def _forget_new_blobs(self, new_blobs: list[tuple[str, str, bytes]]) -> None:
        keys = {key for key, _, _ in new_blobs}
        for ident, (_, key) in list(self._blob_of.items()):
            if key in keys:
                del self._blob_of[ident]

    def counts(self) -> dict[str, int]:
        """How many records and blobs the file holds (for tests and diagnostics)."""
        try:
            records = self._db.execute("SELECT count(*) FROM records").fetchone()[0]
            blobs = self._db.execute("SELECT count(*) FROM blobs").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return {"records": int(records), "blobs": int(blobs)}

    def close(self) -> None:
        """Close the file (the exclusive lock is released)."""
        self._db.close()


class _Missing:
    pass


_MISSING = _Missing()


def _records(state: dict[str, Any]) -> Iterator[tuple[Path_, Any]]:
    """Every record of a state, with its path."""
    for name, value in state.get("counters", {}).items():
        yield (_COUNTERS, name), value
    for section, collections in state.get("sections", {}).items():
        for collection, entries in collections.items():
            if isinstance(entries, dict):
                for key, value in entries.items():
                    yield (section, collection, key), value
            else:
                yield (section, collection), entries


def _clock_moved(written: tuple[float, float], now: tuple[float, float], clock: EmulatorClock) -> bool:
    """Whether the clock left its saved course (an advance, or a manual clock's move)."""
    expected = written[0] + ((now[1] - written[1]) * clock.speed if clock.mode == "scaled" else 0.0)
    return abs(now[0] - expected) > 1.0


def _resume_time(text: str | None) -> float | None:
    """The emulator time a restarted emulator continues from, given the saved clock."""
    if not text:
        return None
    saved = json.loads(text)
    now = float(saved["now"])
    if saved.get("mode") == "scaled":
        # Time passed while the emulator was down, as it does for a real service.
        now += max(0.0, time.time() - float(saved["wall"])) * float(saved["speed"])
    return now
