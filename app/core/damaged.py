"""Damaged files are moved aside, never in the way: a history database or settings file that cannot be read is
renamed to say so (``history.damaged-20261201-101500.sqlite3``) beside where it was, the app starts without it,
and what was set aside is described for the window to tell the person, who may want the old file back.

Only damage counts: a database that is locked by another process or refused by the file system stays where it
is (the app reports it and stops), since moving it would hide a history that is fine.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import AppError

# SQLite's primary result codes for a damaged file (the low byte of an extended code).
SQLITE_CORRUPT = 11
SQLITE_NOTADB = 26
# Files SQLite keeps beside a database. A write-ahead log or journal left beside a new database would be replayed
# into it, so they move with the file they belong to.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class DamagedFile(AppError):
    """A file that opened but failed its check; the message says what the check found."""

    kind = "storage"


@dataclass(frozen=True)
class SetAside:
    """A damaged file and where it is now. ``what`` is "history" or "settings"."""

    what: str
    path: Path
    kept_as: Path
    problem: str

    @property
    def message(self) -> str:
        """What happened and where the old file is, in the person's words."""
        if self.what == "history":
            outcome = "GLM-V started with an empty history"
        else:
            outcome = "GLM-V uses the default settings; choose yours again in Settings"
        return (
            f"The {self.what} file {self.path} is damaged and could not be read ({self.problem}), so {outcome}. "
            f"The damaged file was kept as {self.kept_as}."
        )


def sqlite_damage(error: sqlite3.Error) -> str | None:
    """SQLite's words for the damage when ``error`` says the file is damaged, else None (locked, refused, a
    missing table: not damage)."""
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        damage = code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB)
    else:
        text = str(error).lower()
        damage = "malformed" in text or "not a database" in text
    return str(error) if damage else None


def check_sqlite(path: Path, tables: tuple[str, ...] = ()) -> None:
    """Raises ``DamagedFile`` when the database at ``path`` is damaged: SQLite cannot read it, or its quick check
    finds damage. The quick check reads every page and checks each b-tree's structure, without comparing the
    indexes with their tables as integrity_check does; with ``tables`` it checks only those tables and their
    indexes. The connection is read-only, so closing it neither checkpoints the write-ahead log into a damaged
    file nor deletes the log, which may hold the latest conversations. An error that is not damage (a locked
    file) is left for the real open to report."""
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=10.0)
        try:
            for table in tables or (None,):
                pragma = "PRAGMA quick_check(1)" if table is None else f'PRAGMA quick_check("{table}")'
                found = [row[0] for row in conn.execute(pragma).fetchall()]
                if found != ["ok"]:
                    lines = [line for text in found for line in str(text).splitlines() if not line.startswith("***")]
                    raise DamagedFile(lines[0] if lines else "the integrity check failed")
        finally:
            conn.close()
    except sqlite3.Error as e:
        problem = sqlite_damage(e)
        if problem is not None:
            raise DamagedFile(problem) from e


def set_aside(path: Path, problem: str, what: str, *, now: float | None = None) -> SetAside:
    """Renames ``path`` (and SQLite's files beside it) to ``<stem>.damaged-<local time><suffix>``, with ``-2``,
    ``-3``… when a file of that name is already there."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    companions = [c for c in SQLITE_COMPANIONS if path.with_name(path.name + c).exists()]
    for n in range(1, 1000):
        kept = path.with_name(f"{path.stem}.damaged-{stamp}{'' if n == 1 else f'-{n}'}{path.suffix}")
        if not any(kept.with_name(kept.name + c).exists() for c in ("", *SQLITE_COMPANIONS)):
            break
    else:
        raise FileExistsError(f"no free name to keep the damaged {path} under")
    # The log and journal first: a database that is gone while its log is still there is the one dangerous order.
    for companion in companions:
        os.replace(path.with_name(path.name + companion), kept.with_name(kept.name + companion))
    os.replace(path, kept)
    return SetAside(what, path, kept, problem)
