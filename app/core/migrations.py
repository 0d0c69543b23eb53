"""The history database's schema, as an ordered list of steps.

Each step moves the schema from version N to N+1 and runs once, inside one transaction, so a database written
by any older release opens in a newer one. Never edit a published step: add a new one.
"""

from __future__ import annotations

import sqlite3

from app.core.errors import AppError

STEPS: list[str] = [
    # 1: conversations, messages, attachments, key/value state.
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        title_auto INTEGER NOT NULL DEFAULT 1,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX conversations_updated ON conversations(updated DESC);
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        text TEXT NOT NULL DEFAULT '',
        thinking TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'done' CHECK (status IN ('streaming', 'done', 'failed', 'stopped')),
        finish_reason TEXT,
        error_kind TEXT,
        error_message TEXT,
        usage TEXT,
        boxes TEXT,
        thinking_seconds REAL,
        backend TEXT,
        model TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        UNIQUE (conversation_id, position)
    );
    CREATE TABLE attachments (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        stored_path TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT '',
        pages TEXT,
        pages_total INTEGER,
        tokens INTEGER
    );
    CREATE INDEX attachments_message ON attachments(message_id);
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT);
    """,
    # 2: whether a PDF went as its text layer, so follow-ups send it the same way.
    """
    ALTER TABLE attachments ADD COLUMN text_layer INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: how a question asked the model to think, and how its answer was asked to ({"on": .., "budget": ..}, JSON;
    # NULL: as the settings said, or not known).
    """
    ALTER TABLE messages ADD COLUMN thinking_choice TEXT;
    """,
]

LATEST = len(STEPS)


class SchemaTooNew(AppError):
    """A history database a newer release wrote: opening it here could damage what that release keeps."""

    kind = "storage"


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to ``LATEST``; returns the version found before. A database from a newer release
    is refused rather than damaged."""
    found = current_version(conn)
    if found > LATEST:
        raise SchemaTooNew(
            f"the history database was written by a newer version of the app (schema {found}, this one knows {LATEST})",
            "update the app or move the database away",
        )
    for version in range(found, LATEST):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(STEPS[version]):
                conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


def _statements(script: str) -> list[str]:
    """Split a step into statements so they run in our transaction (executescript would commit first)."""
    return [s.strip() for s in script.split(";") if s.strip()]
