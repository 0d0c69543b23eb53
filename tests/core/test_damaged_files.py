"""A damaged history database or settings file never stops the start: it is moved aside under a name that says
so, the app starts empty (or with the defaults), and the store or settings say what was set aside, for the
window to tell the person. Real files, damaged the ways files get damaged."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time

import pytest

from app.core import damaged
from app.core import store as store_module
from app.core.settings import Settings, load
from app.core.store import DB_NAME, Store
from tests.support import damaged_history


def _files(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_file())


@pytest.mark.parametrize("kind", list(damaged_history.KINDS))
def test_a_damaged_history_is_set_aside_and_an_empty_one_started(tmp_path, kind):
    folder = tmp_path / "data"
    path = damaged_history.filled(folder)
    damaged_history.KINDS[kind](path)
    before = path.read_bytes()
    with Store(folder) as store:
        assert store.damaged is not None
        kept = store.damaged.kept_as
        assert kept.parent == folder
        assert kept.name.startswith("history.damaged-") and kept.name.endswith(".sqlite3")
        assert kept.read_bytes() == before
        assert str(kept) in store.damaged.message and "empty history" in store.damaged.message
        assert store.conversations() == []
        conversation = store.new_conversation()
        store.add_message(conversation, "user", "a new start")
        store.flush()
        assert [m.text for m in store.messages(conversation)] == ["a new start"]
    conn = sqlite3.connect(folder / DB_NAME)
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    conn.close()
    with Store(folder) as again:
        assert again.damaged is None
        assert len(again.conversations()) == 1


def test_the_damaged_pages_are_found_by_the_check_at_open_not_by_what_the_start_reads(tmp_path):
    """The file of the damaged-pages kind opens, migrates and lists its conversations: only the check sees it."""
    folder = tmp_path / "data"
    path = damaged_history.filled(folder)
    damaged_history.damaged_pages(path)
    conn = sqlite3.connect(path)
    assert len(conn.execute("SELECT id FROM conversations ORDER BY updated DESC").fetchall()) == 200
    conn.execute("UPDATE messages SET status = 'stopped' WHERE status = 'streaming'")
    conn.close()
    with Store(folder) as store:
        assert store.damaged is not None
        assert "btreeInitPage" in store.damaged.problem or "malformed" in store.damaged.problem


def test_the_write_ahead_log_and_shared_memory_go_with_the_damaged_file(tmp_path):
    """A -wal left beside a new database would be replayed into it: it moves with the file it belongs to."""
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / DB_NAME
    path.write_bytes(b"not a database at all" * 100)
    (folder / (DB_NAME + "-wal")).write_bytes(b"old wal")
    (folder / (DB_NAME + "-shm")).write_bytes(b"old shm")
    with Store(folder) as store:
        kept = store.damaged.kept_as
    assert (folder / (kept.name + "-wal")).read_bytes() == b"old wal"
    assert (folder / (kept.name + "-shm")).exists()  # an index SQLite rebuilds from the log: its bytes change
    assert kept.read_bytes() == b"not a database at all" * 100


def test_the_latest_conversations_in_the_log_of_a_damaged_file_are_kept_with_it(tmp_path):
    """The check does not checkpoint the log into the damaged file or delete it on closing: the answers it holds
    are still readable from the file set aside."""
    source = tmp_path / "source"
    path = damaged_history.filled(source)
    damaged_history.damaged_pages(path)
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO state (key, value) VALUES ('latest', 'only in the log')")
    writer.commit()
    folder = tmp_path / "data"
    folder.mkdir()
    for suffix in ("", "-wal"):
        shutil.copyfile(path.with_name(path.name + suffix), folder / (DB_NAME + suffix))
    writer.close()
    with Store(folder) as store:
        kept = store.damaged.kept_as
    old = sqlite3.connect(kept.as_uri() + "?mode=ro", uri=True)
    assert old.execute("SELECT value FROM state WHERE key = 'latest'").fetchone() == ("only in the log",)
    old.close()


def test_a_large_history_gets_its_small_tables_checked(tmp_path, monkeypatch):
    """Above the size read in full at open, damage in the conversation list is still found at open."""
    monkeypatch.setattr(store_module, "THOROUGH_CHECK_BYTES", 1024)
    folder = tmp_path / "data"
    path = damaged_history.filled(folder)
    conn = sqlite3.connect(path)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'conversations_updated'").fetchone()
    conn.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * damaged_history.PAGE)
        f.write(b"\xff" * damaged_history.PAGE)
    with Store(folder) as store:
        assert store.damaged is not None


def test_two_damaged_files_in_the_same_second_keep_both(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    kept = []
    for content in (b"first noise" * 50, b"second noise" * 50):
        (folder / DB_NAME).write_bytes(content)
        kept.append(damaged.set_aside(folder / DB_NAME, "noise", "history", now=1_800_000_000.0))
    assert kept[0] != kept[1]
    assert [k.kept_as.read_bytes()[:6] for k in kept] == [b"first ", b"second"]
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(1_800_000_000.0))
    assert kept[0].kept_as.name == f"history.damaged-{stamp}.sqlite3"


def test_a_locked_or_unreadable_history_is_not_taken_for_damage(tmp_path):
    """Only SQLite's "malformed" and "not a database" mean damage; a busy or refused file stays where it is."""
    assert damaged.sqlite_damage(sqlite3.OperationalError("database is locked")) is None
    assert damaged.sqlite_damage(sqlite3.OperationalError("unable to open database file")) is None
    assert damaged.sqlite_damage(sqlite3.DatabaseError("database disk image is malformed")) is not None
    assert damaged.sqlite_damage(sqlite3.DatabaseError("file is not a database")) is not None


def test_an_empty_file_is_an_empty_history_not_damage(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"")
    with Store(folder) as store:
        assert store.damaged is None
    assert not [name for name in _files(folder) if "damaged" in name]


def test_the_check_at_open_costs_little_on_a_large_healthy_history(tmp_path):
    """A large history (tens of MB of text) opens with the thorough check in well under a second."""
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / DB_NAME
    Store(folder).close()
    conn = sqlite3.connect(path)
    text = "a long answer with many words " * 150
    with conn:
        for i in range(2000):
            conn.execute(
                "INSERT INTO conversations (id, title, created, updated) VALUES (?, 't', ?, ?)", (f"c{i}", i, i)
            )
            conn.executemany(
                "INSERT INTO messages (id, conversation_id, position, role, text, created, updated) "
                "VALUES (?, ?, ?, 'user', ?, ?, ?)",
                [(f"m{i}.{j}", f"c{i}", j, text, i, i) for j in range(5)],
            )
    conn.close()
    assert path.stat().st_size > 40 * 1024 * 1024
    start = time.perf_counter()
    with Store(folder) as store:
        opened = time.perf_counter() - start
        assert store.damaged is None
    assert opened < 1.5


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2, 3]", b'"a string"', bytes(range(256)) * 3],
    ids=["invalid-json", "a-list", "a-string", "random-bytes"],
)
def test_a_damaged_settings_file_is_set_aside_and_the_defaults_used(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    s = load(path)
    assert s == Settings()
    assert s.damaged is not None
    kept = s.damaged.kept_as
    assert kept.name.startswith("settings.damaged-") and kept.name.endswith(".json")
    assert kept.read_bytes() == content
    assert not path.exists()
    assert str(kept) in s.damaged.message and "default settings" in s.damaged.message
    assert any("damaged" in w for w in s.warnings)


def test_wrong_values_in_a_readable_settings_file_only_warn(tmp_path):
    """A value of the wrong type or out of range falls back on its own; the file is not damaged."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"temperature": "hot", "model": "m"}))
    s = load(path)
    assert s.damaged is None and path.exists()
    assert (s.temperature, s.model) == (0.8, "m")


def test_what_was_set_aside_survives_the_command_line_overrides(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    s = load(path).with_overrides({"model": "glm-4.6v"})
    assert s.damaged is not None and s.model == "glm-4.6v"
    assert any("damaged" in w for w in s.warnings)
