"""Which process owns a folder: an advisory OS lock on a file in it, held for the life of the owner.

Two windows on one history can happen (another instance name, a command channel that did not answer): the one
that opens the history second must not mark the first one's live answer "interrupted", which is what opening
does to answers a crash left streaming. Only the owner recovers. The OS drops the lock when the owner exits,
however it exits, so a crash never leaves the folder owned.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from app.core import private_files

log = logging.getLogger(__name__)


class OwnerLock:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, private_files.FILE_MODE)
        except OSError as e:
            log.warning("cannot open the lock file %s (%s): acting as a second owner", self.path, e)
            return
        if _try_lock(fd):
            self._fd = fd
        else:
            os.close(fd)

    @property
    def owned(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor releases the lock on every platform


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
