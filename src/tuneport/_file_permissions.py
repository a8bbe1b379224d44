"""A warning when a file that holds a secret is open to other users.

The check is the one ssh makes of a private key and Python's ``netrc`` of
``~/.netrc``: on POSIX, any permission bit for the group or for others
(``mode & 0o077``) makes the file readable, or replaceable, by someone else.
tuneport still reads the file, and warns with
:class:`~tuneport.errors.InsecureConfigWarning`, naming the file (never the
secret) and the ``chmod 600`` that fixes it.  Windows permissions are not mode
bits, so nothing is checked there.
"""

from __future__ import annotations

import os
import shlex
import stat
import warnings
from pathlib import Path

from tuneport.errors import InsecureConfigWarning

__all__ = ["warn_if_shared"]

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
