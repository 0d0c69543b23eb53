"""Folders and files only their owner can read: the history, captures, logs and settings hold conversations and
screenshots.

Each folder the app makes for them is 0700 and each file 0600, set where it is made. A process umask would do
it in one line but would also apply to what the person exports or saves elsewhere, which should get their
usual permissions. A folder an older version made (0755, with 0644 files) is tightened, with everything in it,
the first time it is used; after that it is private and nothing is walked again. On Windows the per-user
profile folders these live in are private already and the modes mean nothing, so nothing is changed there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Makes ``path`` and any missing parents 0700 (as the XDG base directory spec asks of the folders it
    names); an existing ``path`` open to others is tightened with everything in it."""
    path = Path(path)
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=FOLDER_MODE)
        _chmod(folder, FOLDER_MODE)
    if not missing and sys.platform != "win32" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        tighten(path)
    return path


def cache_folder(name: str) -> Path:
    """A private folder in the app's cache (platformdirs) for files waiting to be sent, such as region crops and
    pasted images: never the shared temporary folder, where other users could read or replace them."""
    import platformdirs

    return private_folder(Path(platformdirs.user_cache_dir("glmv-desktop", appauthor=False)) / name)


def tighten(folder: Path) -> None:
    """``folder`` and the folders in it 0700, its files 0600. Links are not followed and what belongs to
    someone else is left alone."""
    if sys.platform == "win32":
        return
    _chmod(folder, FOLDER_MODE)
    for root, folders, files in os.walk(folder):
        for name in folders:
            _chmod(Path(root, name), FOLDER_MODE)
        for name in files:
            _chmod(Path(root, name), FILE_MODE)


def private_file(path: Path) -> Path:
    """An existing file made 0600 (one an older version wrote, or one a library created with its own mode);
    anything else (nothing there, a folder) is left alone."""
    path = Path(path)
    if path.is_file():
        _chmod(path, FILE_MODE)
    return path


def opener(path: str | os.PathLike[str], flags: int) -> int:
    """For ``open(..., opener=opener)``: a new file is created 0600 and an existing one made 0600."""
    fd = os.open(path, flags, FILE_MODE)
    if sys.platform != "win32":
        os.fchmod(fd, FILE_MODE)
    return fd


def create(path: Path) -> Path:
    """An empty private file at ``path`` (or the existing one made private), for a library that opens the file
    itself to write into and keeps the mode it finds (SQLite, video encoders)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    return private_file(path)


def copy(source: Path, target: Path) -> Path:
    """``shutil.copyfile`` into a private ``target``."""
    with open(source, "rb") as src, open(target, "wb", opener=opener) as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    return target


def _chmod(path: Path, mode: int) -> None:
    if sys.platform == "win32":
        return
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) == mode:
            return
        os.chmod(path, mode)
    except FileNotFoundError:
        pass
