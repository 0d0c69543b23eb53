"""Real history databases damaged the three ways files get damaged: cut short (a copy or sync that stopped),
overwritten with noise, and with pages overwritten inside an otherwise valid file. Shared by the core tests and
the end-to-end tests that start the app with them."""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

from app.core.store import DB_NAME, Store

PAGE = 4096


def filled(folder: Path, conversations: int = 200) -> Path:
    """A history of ``conversations`` chats of four messages each, closed cleanly; returns the database file."""
    rng = random.Random(7)
    with Store(folder) as store:
        for i in range(conversations):
            conversation = store.new_conversation()
            for j in range(4):
                role = "user" if j % 2 == 0 else "assistant"
                store.add_message(conversation, role, f"message {i}.{j} " + "words " * rng.randint(2, 400))
        store.flush()
    return folder / DB_NAME


def truncated(path: Path) -> None:
    """Cut in the middle of a page, a third of the way in."""
    os.truncate(path, path.stat().st_size // 3 + 100)


def random_bytes(path: Path) -> None:
    """The same size, nothing but noise."""
    path.write_bytes(random.Random(11).randbytes(path.stat().st_size))


def damaged_pages(path: Path) -> None:
    """The root page of the index that orders a conversation's messages overwritten with noise. The file still
    opens, its schema reads, the conversation list and a scan of every message work: only opening a
    conversation (which uses that index) or an integrity check finds the damage."""
    conn = sqlite3.connect(path)
    (root,) = conn.execute(
        "SELECT rootpage FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NULL "
        "AND name != 'sqlite_autoindex_messages_1'"
    ).fetchone()
    conn.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * PAGE)
        f.write(random.Random(13).randbytes(PAGE))


KINDS: dict[str, Callable[[Path], None]] = {
    "truncated": truncated,
    "random-bytes": random_bytes,
    "damaged-pages": damaged_pages,
}
