"""A warning when a file that holds a secret is open to other users; only regular files are read.

The check is the one ssh makes of a private key and Python's ``netrc`` of
``~/.netrc``: on POSIX, any permission bit for the group or for others
(``mode & 0o077``) makes the file readable, or replaceable, by someone else.
tuneport still reads the file, and warns with
:class:`~tuneport.errors.InsecureConfigWarning`, naming the file (never the
secret) and the ``chmod 600`` that fixes it.  Windows permissions are not mode
bits, so nothing is checked there.

:func:`not_a_regular_file` is asked before a config, credentials or dataset
file is opened: a FIFO would block the reader forever and ``/dev/zero`` would
feed it until memory runs out, so anything but a regular file is refused with
the reason, which the caller raises as its own typed error.
"""

from __future__ import annotations

import os
import shlex
import stat
import warnings
from pathlib import Path

from tuneport.errors import InsecureConfigWarning

__all__ = ["not_a_regular_file", "warn_if_shared"]

#: Permission bits of the group and of others: any of them lets another user in.
SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO


def warn_if_shared(path: Path, *, holding: str) -> None:
    """Warn if *path*, which holds *holding* (``"a service-account key"``), is open to other users.

    The warning is attributed to the caller, the code that read the file.
    """
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # the reader reports an unreadable file
    if not mode & SHARED_BITS:
        return
    message = (
        f"{path} holds {holding} but other users can access it (mode {mode:04o}); "
        f"restrict it to its owner: chmod 600 {shlex.quote(str(path))}"
    )
    warnings.warn(InsecureConfigWarning(message, path=str(path), mode=mode), stacklevel=2)


def not_a_regular_file(path: str | os.PathLike[str]) -> str | None:
    """Why *path* must not be opened for reading, or ``None`` when it may be.

    A path holding a NUL character, or naming anything but a regular file (after
    following symbolic links: a FIFO, a device such as ``/dev/zero``, a socket, a
    directory), is refused.  A path that does not exist, or cannot be examined,
    passes: the reader reports it with its own message.
    """
    text = os.fspath(path)
    if "\x00" in text:
        return "the path holds a NUL character"
    try:
        mode = os.stat(text).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    kind = (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    return f"only a regular file can be read, and {text} is {kind}"
