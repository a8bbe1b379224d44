"""Upload progress of ``tuneport create``: bytes and rate while a large dataset is staged.

A backend that stages data tells its progress on the ``tuneport.upload``
logger, at DEBUG, each record carrying ``tuneport_upload`` =
``(uri, bytes_stored, total_bytes)`` (the vertex backend does, chunk by
chunk).  While ``create`` runs, :func:`upload_progress` listens there and
prints a plain line on stderr every few seconds and when an upload is done,
for datasets of a few MB and more; smaller ones go up too fast to watch.
Nothing of this is in the port: a backend that says nothing shows nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["EVERY", "SHOWN_FROM", "UPLOAD_LOG", "UploadLines", "upload_progress"]

#: The logger upload progress is told on.
UPLOAD_LOG = "tuneport.upload"
#: Uploads of this many bytes and more get progress lines.
SHOWN_FROM = 4_000_000
#: Seconds between two lines about one upload (its first and last line are always written).
EVERY = 2.0


def _megabytes(count: float) -> str:
    return f"{count / 1_000_000:,.1f} MB"


class UploadLines(logging.Handler):
    """Turns upload progress records into lines: when an upload starts, at most every *every*
    seconds while it runs (bytes stored, share, rate), and when it is done."""

    def __init__(
        self,
        write: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        *,
        shown_from: int = SHOWN_FROM,
        every: float = EVERY,
    ) -> None:
        super().__init__(logging.DEBUG)
        self._write = write
        self._clock = clock
        self._shown_from = shown_from
        self._every = every
        self._started: dict[str, float] = {}
        self._last_line: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "tuneport_upload", None)
        if not (isinstance(event, tuple) and len(event) == 3):
            return
        uri, stored, size = event
        if size < self._shown_from:
            return
        now = self._clock()
        if stored == 0 or uri not in self._started:
            self._started[uri] = self._last_line[uri] = now
            self._write(f"uploading {uri}: {_megabytes(size)}")
            return
        done = stored >= size
        if not done and now - self._last_line[uri] < self._every:
            return
        self._last_line[uri] = now
        elapsed = now - self._started[uri]
        rate = f"{_megabytes(stored / elapsed)}/s" if elapsed > 0 else "rate unknown"
        if done:
            self._write(f"uploaded {uri}: {_megabytes(size)} in {elapsed:.1f} s ({rate})")
        else:
            share = 100 * stored / size
            self._write(f"uploading {uri}: {_megabytes(stored)} of {_megabytes(size)} ({share:.0f}%, {rate})")


@contextmanager
def upload_progress(console: Console, *, verbose: int = 0) -> Iterator[UploadLines]:
    """Print upload progress on *console* while the block runs.

    The records are DEBUG ones: they reach the ``-vv`` log as well, and no
    other log (``-v`` or none) while the lines are printed.
    """
    logger = logging.getLogger(UPLOAD_LOG)
    # Unwrapped and unstyled: one line per report, the gs:// URI whole.
    handler = UploadLines(
        lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True),
        shown_from=SHOWN_FROM,
        every=EVERY,
    )
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = verbose >= 2
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
