"""Conversation history in SQLite, attachment files on disk.

One writer thread owns every write, in the order they were asked for, so the window never waits on the disk
and a streaming answer can be saved every half second without blocking anything. Reads use their own
connection: in WAL mode they see every committed write and never wait for the writer. Ids are made here (not by
SQLite) so a caller can refer to a row whose insert is still queued.

An answer is saved while it streams; if the app dies, the partial answer is in the database and is marked
"stopped" (finish reason "interrupted") when the store is opened next, by the process that then owns the history:
a second window opened on the same history meanwhile leaves the first one's live answers alone.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import os
import queue
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from app.core import damaged, migrations, private_files
from app.core.conversation import Attachment, AttachmentRecord, Message, Role, as_record
from app.core.damaged import SQLITE_COMPANIONS
from app.core.media.kinds import access_problem
from app.core.owner_lock import OwnerLock

log = logging.getLogger(__name__)

T = TypeVar("T")
DB_NAME = "history.sqlite3"
LOCK_NAME = "history.lock"  # held by the process that owns the history (owner_lock)
STATUSES = ("streaming", "done", "failed", "stopped")
TITLE_LENGTH = 60
# The check at open reads every page of a history up to this size (tens of milliseconds when the file is in the
# OS's cache, about a second from a slow disk). A larger one gets its small tables checked and its messages
# scanned by the recovery of interrupted answers; damage there shows when the conversation is opened.
THOROUGH_CHECK_BYTES = 64 * 1024 * 1024
SMALL_TABLES = ("schema_version", "conversations", "attachments", "state")


def default_folder() -> Path:
    """The per-user data folder (platformdirs), e.g. ~/.local/share/glmv-desktop on Linux."""
    import platformdirs

    return Path(platformdirs.user_data_dir("glmv-desktop", appauthor=False))


@dataclass
class ConversationSummary:
    id: str
    title: str
    created: float
    updated: float


@dataclass
class StoredAttachment:
    id: str
    name: str
    path: Path
    kind: str = ""
    pages: str | None = None
    pages_total: int | None = None
    tokens: int | None = None
    text_layer: bool = False

    def to_attachment(self) -> Attachment:
        return Attachment(path=self.path, kind=self.kind, pages=self.pages, text_layer=self.text_layer)

    def to_record(self) -> AttachmentRecord:
        return AttachmentRecord(self.to_attachment(), pages_total=self.pages_total, tokens=self.tokens)


@dataclass
class StoredMessage:
    id: str
    role: Role
    text: str = ""
    thinking: str = ""
    status: str = "done"
    finish_reason: str | None = None
    error_kind: str | None = None
    error_message: str | None = None
    usage: dict = field(default_factory=dict)
    boxes: list = field(default_factory=list)
    thinking_seconds: float | None = None
    backend: str | None = None
    model: str | None = None
    created: float = 0.0
    attachments: list[StoredAttachment] = field(default_factory=list)
    thinking_choice: dict | None = None  # {"on": bool, "budget": int | None}, as the session wrote it

    def to_message(self) -> Message:
        return Message(
            role=self.role,
            text=self.text,
            attachments=[a.to_attachment() for a in self.attachments],
            thinking=self.thinking,
        )


def _json_object(stored: str | None) -> dict | None:
    """A JSON object column; None when empty or not an object (a damaged value does not keep a conversation
    from opening)."""
    try:
        value = json.loads(stored) if stored else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def make_title(text: str, attachment_names: Iterable[str] = ()) -> str:
    """A title from the first question: its first non-empty line, cut at a word boundary."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"\s+", " ", line)
    if not line:
        names = list(attachment_names)
        return names[0] if names else "New chat"
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[:TITLE_LENGTH].rsplit(" ", 1)[0]
    return (cut if len(cut) > TITLE_LENGTH // 2 else line[:TITLE_LENGTH]).rstrip(" ,.;:") + "…"


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class _Writer(threading.Thread):
    """Runs write jobs one at a time on its own connection, each in its own transaction."""

    def __init__(self, path: Path, on_error: Callable[[str], None] | None) -> None:
        super().__init__(name="history-writer", daemon=True)
        self._path = path
        self._jobs: queue.Queue = queue.Queue()
        self._on_error = on_error

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((future, job))
        return future

    def stop(self) -> None:
        self._jobs.put(None)

    def report(self, message: str) -> None:
        """Tells the window about a problem that did not stop the write (an attachment left out)."""
        log.warning("%s", message)
        if self._on_error is not None:
            self._on_error(message)

    def run(self) -> None:
        conn = _connect(self._path)
        try:
            while (item := self._jobs.get()) is not None:
                future, job = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result = job(conn)
                    conn.commit()
                except Exception as e:
                    conn.rollback()
                    log.exception("history write failed")
                    if self._on_error is not None:
                        self._on_error(f"Could not save the history: {e}. Check free disk space and permissions.")
                    future.set_exception(e)
                else:
                    future.set_result(result)
        finally:
            conn.close()


class Store:
    """The history of one user. ``folder`` holds the database and an ``attachments`` folder per conversation.

    Write methods return at once; they hand back a ``Future`` (or an id whose row is queued) for callers that
    need to know when the write is on disk. ``on_error`` is called from the writer thread with a readable
    message when a write fails.
    """

    def __init__(
        self, folder: Path | None = None, *, recover: bool = True, on_error: Callable[[str], None] | None = None
    ) -> None:
        self.folder = private_files.private_folder(Path(folder) if folder is not None else default_folder())
        self.files = self.folder / "attachments"
        self.path = self.folder / DB_NAME
        self.damaged: damaged.SetAside | None = None
        # Only the process that owns the history recovers answers left streaming: another one's are still live.
        self._owner = OwnerLock(self.folder / LOCK_NAME)
        recover = recover and self._owner.owned
        try:
            self._set_up(recover)
        except (sqlite3.DatabaseError, damaged.DamagedFile) as e:
            problem = str(e) if isinstance(e, damaged.DamagedFile) else damaged.sqlite_damage(e)
            if problem is None:
                raise
            self.damaged = damaged.set_aside(self.path, problem, "history")
            log.warning("%s", self.damaged.message)
            self._set_up(recover)
        self._read = _connect(self.path)
        self._read.row_factory = sqlite3.Row
        self._read_lock = threading.Lock()
        self._writer = _Writer(self.path, on_error)
        self._writer.start()
        self._closed = False

    def _set_up(self, recover: bool) -> None:
        """Checks the database, brings its schema up to date and marks answers a crash left streaming."""
        # SQLite gives its -wal and -shm files the database file's mode.
        private_files.create(self.path)
        for suffix in SQLITE_COMPANIONS:
            private_files.private_file(self.path.with_name(self.path.name + suffix))
        size = self.path.stat().st_size
        if size:
            damaged.check_sqlite(self.path, () if size <= THOROUGH_CHECK_BYTES else SMALL_TABLES)
        setup = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        try:
            setup.execute("PRAGMA journal_mode = WAL")
            migrations.migrate(setup)
            if recover:
                setup.execute(
                    "UPDATE messages SET status = 'stopped', finish_reason = 'interrupted' WHERE status = 'streaming'"
                )
        finally:
            setup.close()

    # ---------------------------------------------------------------- lifecycle

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until every write asked for so far is on disk."""
        self._writer.submit(lambda conn: None).result(timeout)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.stop()
        self._writer.join(30.0)
        with self._read_lock:
            self._read.close()
        self._owner.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- reads

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._read_lock:
            return self._read.execute(sql, params).fetchall()

    def conversations(self, limit: int | None = None) -> list[ConversationSummary]:
        """Newest first."""
        sql = "SELECT id, title, created, updated FROM conversations ORDER BY updated DESC"
        rows = self._query(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ())
        return [ConversationSummary(r["id"], r["title"], r["created"], r["updated"]) for r in rows]

    def conversation(self, conversation_id: str) -> ConversationSummary | None:
        rows = self._query("SELECT id, title, created, updated FROM conversations WHERE id = ?", (conversation_id,))
        return (
            ConversationSummary(rows[0]["id"], rows[0]["title"], rows[0]["created"], rows[0]["updated"])
            if rows
            else None
        )

    def search(self, text: str) -> list[ConversationSummary]:
        """Conversations whose title, questions or answers contain ``text`` (case-insensitive), newest first."""
        text = text.strip()
        if not text:
            return self.conversations()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._query(
            "SELECT id, title, created, updated FROM conversations c WHERE c.title LIKE ?1 ESCAPE '\\' OR EXISTS "
            "(SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.text LIKE ?1 ESCAPE '\\') "
            "ORDER BY updated DESC",
            (pattern,),
        )
        return [ConversationSummary(r["id"], r["title"], r["created"], r["updated"]) for r in rows]

    def _insert_attachment(
        self,
        conn: sqlite3.Connection,
        attachment_id: str,
        message_id: str,
        position: int,
        record: AttachmentRecord,
        stored: Path,
    ) -> None:
        """Copies the file into the conversation's folder and records it with how it was sent (pages, text
        layer), so a follow-up question sends it the same way. Passwords are never stored.

        A file that is gone (or unreadable) by now is left out and the window told so: the question is still
        saved, rather than the whole message failing as if the disk were full and the answer being kept without
        its question."""
        attachment = record.attachment
        private_files.private_folder(stored.parent)
        try:
            private_files.copy(attachment.path, stored)
        except OSError:
            source = Path(attachment.path)
            if os.path.lexists(source):
                problem = access_problem(source) or _unreadable(source)
            else:
                problem = "the file is gone (moved or deleted after it was attached)"
            if problem is None:
                raise
            _remove_file(stored)
            self._writer.report(
                f"{attachment.name} was not kept with the question: {problem}. The question is saved without it; "
                "attach it again to ask about it."
            )
            return
        conn.execute(
            "INSERT INTO attachments (id, message_id, position, name, stored_path, kind, pages, pages_total, "
            "tokens, text_layer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                attachment_id,
                message_id,
                position,
                attachment.name,
                stored.relative_to(self.folder).as_posix(),
                attachment.kind,
                attachment.pages,
                record.pages_total,
                record.tokens,
                int(attachment.text_layer),
            ),
        )

    def messages(self, conversation_id: str) -> list[StoredMessage]:
        rows = self._query("SELECT * FROM messages WHERE conversation_id = ? ORDER BY position", (conversation_id,))
        attachment_rows = self._query(
            "SELECT a.* FROM attachments a JOIN messages m ON a.message_id = m.id "
            "WHERE m.conversation_id = ? ORDER BY a.position",
            (conversation_id,),
        )
        by_message: dict[str, list[StoredAttachment]] = {}
        for a in attachment_rows:
            by_message.setdefault(a["message_id"], []).append(
                StoredAttachment(
                    id=a["id"],
                    name=a["name"],
                    path=self.folder / a["stored_path"],
                    kind=a["kind"],
                    pages=a["pages"],
                    pages_total=a["pages_total"],
                    tokens=a["tokens"],
                    text_layer=bool(a["text_layer"]),
                )
            )
        return [
            StoredMessage(
                id=r["id"],
                role=r["role"],
                text=r["text"],
                thinking=r["thinking"],
                status=r["status"],
                finish_reason=r["finish_reason"],
                error_kind=r["error_kind"],
                error_message=r["error_message"],
                usage=json.loads(r["usage"]) if r["usage"] else {},
                boxes=json.loads(r["boxes"]) if r["boxes"] else [],
                thinking_seconds=r["thinking_seconds"],
                backend=r["backend"],
                model=r["model"],
                created=r["created"],
                attachments=by_message.get(r["id"], []),
                thinking_choice=_json_object(r["thinking_choice"]),
            )
            for r in rows
        ]

    def last_opened(self) -> str | None:
        rows = self._query(
            "SELECT s.value FROM state s JOIN conversations c ON c.id = s.value WHERE s.key = 'last_opened'"
        )
        return rows[0][0] if rows else None

    # ---------------------------------------------------------------- writes

    def new_conversation(self, title: str = "") -> str:
        conversation_id = uuid.uuid4().hex
        now = time.time()

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO conversations (id, title, title_auto, created, updated) VALUES (?, ?, ?, ?, ?)",
                (conversation_id, title, 0 if title else 1, now, now),
            )

        self._writer.submit(job)
        return conversation_id

    def rename(self, conversation_id: str, title: str) -> concurrent.futures.Future[None]:
        title = title.strip()

        def job(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE conversations SET title = ?, title_auto = 0 WHERE id = ?", (title, conversation_id))

        return self._writer.submit(job)

    def delete(self, conversation_id: str) -> concurrent.futures.Future[None]:
        """Removes the conversation, its messages (cascade) and its attachment files."""
        folder = self._conversation_files(conversation_id)

        def job(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            conn.commit()
            shutil.rmtree(folder, ignore_errors=True)

        return self._writer.submit(job)

    def set_last_opened(self, conversation_id: str | None) -> concurrent.futures.Future[None]:
        def job(conn: sqlite3.Connection) -> None:
            if conversation_id is None:
                conn.execute("DELETE FROM state WHERE key = 'last_opened'")
            else:
                conn.execute(
                    "INSERT INTO state (key, value) VALUES ('last_opened', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (conversation_id,),
                )

        return self._writer.submit(job)

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        text: str = "",
        attachments: Iterable[Attachment | AttachmentRecord] = (),
        *,
        status: str = "done",
        thinking: str = "",
        backend: str | None = None,
        model: str | None = None,
        thinking_choice: dict | None = None,
    ) -> str:
        """Queues the message and copies its attachment files into the conversation's folder, with what the
        records say was found out about them (page count, tokens). The first question of a conversation names
        it unless it was renamed.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown message status {status!r}")
        message_id = uuid.uuid4().hex
        now = time.time()
        planned = []
        for position, record in enumerate(map(as_record, attachments)):
            attachment_id = uuid.uuid4().hex[:12]
            stored = self._conversation_files(conversation_id) / attachment_id / safe_name(record.name)
            planned.append((attachment_id, position, record, stored))
        names = [p[2].name for p in planned]
        choice = json.dumps(thinking_choice) if thinking_choice is not None else None

        def job(conn: sqlite3.Connection) -> None:
            (last,) = conn.execute(
                "SELECT COALESCE(MAX(position), -1) FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
            conn.execute(
                "INSERT INTO messages (id, conversation_id, position, role, text, thinking, status, backend, model, "
                "thinking_choice, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (message_id, conversation_id, last + 1, role, text, thinking, status, backend, model, choice, now, now),
            )
            for attachment_id, position, record, stored in planned:
                self._insert_attachment(conn, attachment_id, message_id, position, record, stored)
            if role == "user":
                row = conn.execute(
                    "SELECT title_auto, title FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                if row is not None and row[0] and not row[1]:
                    title = make_title(text, names)
                    conn.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))

        self._writer.submit(job)
        return message_id

    def save_message(
        self,
        message_id: str,
        *,
        text: str | None = None,
        thinking: str | None = None,
        status: str | None = None,
        finish_reason: str | None = None,
        error_kind: str | None = None,
        error_message: str | None = None,
        usage: dict | None = None,
        boxes: list | None = None,
        thinking_seconds: float | None = None,
    ) -> concurrent.futures.Future[None]:
        """Updates the given fields of a message (``None`` leaves a field as it is)."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown message status {status!r}")
        values: dict[str, Any] = {
            "text": text,
            "thinking": thinking,
            "status": status,
            "finish_reason": finish_reason,
            "error_kind": error_kind,
            "error_message": error_message,
            "usage": json.dumps(usage) if usage is not None else None,
            "boxes": json.dumps(boxes) if boxes is not None else None,
            "thinking_seconds": thinking_seconds,
        }
        values = {k: v for k, v in values.items() if v is not None}
        now = time.time()

        def job(conn: sqlite3.Connection) -> None:
            assignments = ", ".join(f"{k} = ?" for k in values)
            conn.execute(
                f"UPDATE messages SET {assignments}, updated = ? WHERE id = ?", (*values.values(), now, message_id)
            )
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)",
                (now, message_id),
            )

        return self._writer.submit(job)

    def delete_after(self, message_id: str, *, inclusive: bool = False) -> concurrent.futures.Future[None]:
        """Removes the messages after ``message_id`` (and it too when ``inclusive``), with their files: used by
        Regenerate (drop the old answer) and Edit-and-resend (drop everything after the edited question)."""
        op = ">=" if inclusive else ">"

        def job(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT conversation_id, position FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                return
            doomed = f"SELECT id FROM messages WHERE conversation_id = ? AND position {op} ?"
            files = [
                self.folder / r[0]
                for r in conn.execute(f"SELECT stored_path FROM attachments WHERE message_id IN ({doomed})", row)
            ]
            conn.execute(f"DELETE FROM messages WHERE id IN ({doomed})", row)
            conn.commit()
            for path in files:
                _remove_file(path)

        return self._writer.submit(job)

    def edit_question(
        self,
        message_id: str,
        text: str,
        attachments: Iterable[Attachment | AttachmentRecord],
        thinking_choice: dict | None = None,
    ) -> concurrent.futures.Future[None]:
        """Edit-and-resend in one transaction: the question gets its new text, attachments and thinking choice,
        the messages after it go, and a conversation named after it (not renamed by hand) is named after the new
        text. Attachments already stored with the question are kept (by path), new files are copied in, dropped
        ones are deleted."""
        records = [as_record(a) for a in attachments]
        choice = json.dumps(thinking_choice) if thinking_choice is not None else None

        def job(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT conversation_id, position FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                return
            conversation_id = row[0]
            doomed = "SELECT id FROM messages WHERE conversation_id = ? AND position > ?"
            stale = [
                self.folder / r[0]
                for r in conn.execute(f"SELECT stored_path FROM attachments WHERE message_id IN ({doomed})", row)
            ]
            conn.execute(f"DELETE FROM messages WHERE id IN ({doomed})", row)
            existing = {
                (self.folder / r[1]).resolve(): r[0]
                for r in conn.execute("SELECT id, stored_path FROM attachments WHERE message_id = ?", (message_id,))
            }
            kept: set[str] = set()
            for position, record in enumerate(records):
                known = existing.get(Path(record.path).resolve())
                if known is not None:
                    kept.add(known)
                    conn.execute("UPDATE attachments SET position = ? WHERE id = ?", (position, known))
                    continue
                attachment_id = uuid.uuid4().hex[:12]
                stored = self._conversation_files(conversation_id) / attachment_id / safe_name(record.name)
                self._insert_attachment(conn, attachment_id, message_id, position, record, stored)
            for path, attachment_id in existing.items():
                if attachment_id not in kept:
                    conn.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))
                    stale.append(path)
            now = time.time()
            conn.execute(
                "UPDATE messages SET text = ?, thinking_choice = ?, updated = ? WHERE id = ?",
                (text, choice, now, message_id),
            )
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
            earlier = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND role = 'user' AND position < ?", row
            ).fetchone()[0]
            if not earlier:  # the first question named the conversation, unless it was renamed: so does its edit
                title = make_title(text, [r.name for r in records])
                conn.execute("UPDATE conversations SET title = ? WHERE id = ? AND title_auto", (title, conversation_id))
            conn.commit()
            for path in stale:
                _remove_file(path)

        return self._writer.submit(job)

    def stream_saver(self, message_id: str, interval: float = 0.5) -> StreamSaver:
        return StreamSaver(self, message_id, interval)

    def _conversation_files(self, conversation_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", conversation_id):
            raise ValueError(f"not a conversation id: {conversation_id!r}")
        return self.files / conversation_id


class StreamSaver:
    """Saves a streaming answer at most every ``interval`` seconds, then once at the end.

    The stream's runner asks ``due()`` after each piece and only then builds the full text, so saving costs
    nothing per token.
    """

    def __init__(self, store: Store, message_id: str, interval: float = 0.5) -> None:
        self.store = store
        self.message_id = message_id
        self.interval = interval
        self._last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.interval

    def save(self, text: str, thinking: str) -> None:
        self._last = time.monotonic()
        self.store.save_message(self.message_id, text=text, thinking=thinking, status="streaming")

    def finish(self, text: str, thinking: str, status: str, **info: Any) -> concurrent.futures.Future[None]:
        return self.store.save_message(self.message_id, text=text, thinking=thinking, status=status, **info)


def _remove_file(path: Path) -> None:
    """An attachment file and its own folder (each stored attachment has one, to keep its original name)."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()


def _unreadable(source: Path) -> str | None:
    """Why the attachment ``source`` cannot be read, or None when it can (then a failed copy is the disk's)."""
    try:
        with open(source, "rb"):
            pass
    except OSError as e:
        return f"it cannot be read ({e.strerror or e})"
    return None


def safe_name(name: str, keep_suffix: bool = True) -> str:
    """A file name safe on every OS, keeping the suffix so the kind is still recognisable."""
    path = Path(name)
    stem, suffix = (path.stem, path.suffix) if keep_suffix else (name, "")
    stem = re.sub(r'[<>:"/\\|?*\x00-\x1f]+', "_", stem).strip(" .") or "file"
    suffix = re.sub(r"[^A-Za-z0-9.]", "", suffix)[:10]
    return stem[:80] + suffix
