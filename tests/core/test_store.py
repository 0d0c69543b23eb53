"""The history store against real SQLite files in a temporary folder."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.core import migrations
from app.core.conversation import Attachment, AttachmentRecord
from app.core.export import export_markdown
from app.core.migrations import SchemaTooNew
from app.core.store import Store, make_title
from tests.support.paths import ROOT

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


def _image(tmp_path: Path, name: str = "shot.png") -> Path:
    path = tmp_path / name
    path.write_bytes(PNG)
    return path


def test_schema_is_versioned_with_wal_and_foreign_keys(store):
    store.flush()
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == migrations.LATEST
    conn.close()
    with store._read_lock:
        assert store._read.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_database_from_a_newer_release_is_refused(tmp_path):
    folder = tmp_path / "data"
    Store(folder).close()
    conn = sqlite3.connect(folder / "history.sqlite3")
    conn.execute("UPDATE schema_version SET version = 999")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer version"):
        Store(folder)


def test_a_database_from_the_first_release_is_migrated_and_keeps_its_history(tmp_path):
    """Schema 1 had no text_layer column: opening it adds the column, keeps every row, reads False."""
    folder = tmp_path / "data"
    folder.mkdir()
    conn = sqlite3.connect(folder / "history.sqlite3")
    conn.executescript(migrations.STEPS[0])
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.execute("INSERT INTO conversations (id, title, created, updated) VALUES ('c1', 'old', 1, 1)")
    conn.execute(
        "INSERT INTO messages (id, conversation_id, position, role, text, created, updated) "
        "VALUES ('m1', 'c1', 0, 'user', 'hello', 1, 1)"
    )
    (folder / "files").mkdir()
    (folder / "files" / "a.pdf").write_bytes(b"%PDF-1.4")
    conn.execute(
        "INSERT INTO attachments (id, message_id, position, name, stored_path, kind, pages) "
        "VALUES ('a1', 'm1', 0, 'a.pdf', 'files/a.pdf', 'pdf', '1-2')"
    )
    conn.commit()
    conn.close()
    store = Store(folder)
    try:
        (message,) = store.messages("c1")
        (attachment,) = message.attachments
        assert message.text == "hello" and attachment.pages == "1-2" and attachment.text_layer is False
        assert message.thinking_choice is None  # schema 3: not known, the settings decide
    finally:
        store.close()
    conn = sqlite3.connect(folder / "history.sqlite3")
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == migrations.LATEST
    conn.close()


def test_the_thinking_choice_is_kept_with_questions_and_answers_and_a_damaged_one_reads_as_unknown(store):
    cid = store.new_conversation()
    asked = store.add_message(cid, "user", "Quick one", thinking_choice={"on": False, "budget": None})
    store.add_message(cid, "assistant", "Four.", thinking_choice={"on": True, "budget": 1024})
    edited = store.add_message(cid, "user", "Another")
    store.flush()
    assert [m.thinking_choice for m in store.messages(cid)] == [
        {"on": False, "budget": None},
        {"on": True, "budget": 1024},
        None,
    ]
    store.edit_question(edited, "Another, thinking", [], {"on": True, "budget": None}).result(10)
    assert store.messages(cid)[-1].thinking_choice == {"on": True, "budget": None}
    store.edit_question(asked, "Quick one again", []).result(10)
    assert [m.thinking_choice for m in store.messages(cid)] == [None]
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE messages SET thinking_choice = '[not json' WHERE id = ?", (asked,))
    conn.commit()
    conn.close()
    assert store.messages(cid)[0].thinking_choice is None


def test_how_a_document_was_sent_is_kept_for_follow_ups(store, tmp_path):
    cid = store.new_conversation()
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(b"%PDF-1.4 tiny")
    store.add_message(
        cid, "user", "summarise", [Attachment(pdf, kind="pdf", pages="3-4", text_layer=True, password="pw")]
    )
    store.flush()
    (message,) = store.messages(cid)
    again = message.attachments[0].to_attachment()
    assert (again.pages, again.text_layer, again.password) == ("3-4", True, None)


def test_what_reading_an_attachment_found_is_kept_with_it(store, tmp_path):
    cid = store.new_conversation()
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(b"%PDF-1.4 tiny")
    question = store.add_message(
        cid, "user", "summarise", [AttachmentRecord(Attachment(pdf, kind="pdf"), pages_total=12, tokens=3400)]
    )
    store.flush()
    (message,) = store.messages(cid)
    record = message.attachments[0].to_record()
    assert (record.pages_total, record.tokens, record.attachment.kind) == (12, 3400, "pdf")
    # An edit keeps the stored one and records a new file with its own figures.
    image = _image(tmp_path, "new.png")
    store.edit_question(question, "and this", [record, AttachmentRecord(Attachment(image, "image"), tokens=256)])
    store.flush()
    (edited,) = store.messages(cid)
    assert [(a.name, a.pages_total, a.tokens) for a in edited.attachments] == [
        ("book.pdf", 12, 3400),
        ("new.png", None, 256),
    ]


def test_conversation_round_trip_with_attachment_and_automatic_title(store, tmp_path):
    cid = store.new_conversation()
    source = _image(tmp_path)
    store.add_message(cid, "user", "What is on this screenshot?\nPlease be brief.", [Attachment(source, "image")])
    mid = store.add_message(cid, "assistant", "", status="streaming", backend="api", model="glm-4.6v")
    store.save_message(mid, text="A chart.", thinking="Looking at bars.", status="done", finish_reason="stop")
    store.flush()

    assert store.conversation(cid).title == "What is on this screenshot?"
    question, answer = store.messages(cid)
    assert question.role == "user" and question.text.startswith("What is on")
    stored = question.attachments[0]
    assert stored.name == "shot.png" and stored.path.read_bytes() == PNG
    assert stored.path.is_relative_to(store.folder / "attachments" / cid)
    assert (answer.text, answer.thinking, answer.status, answer.model) == (
        "A chart.",
        "Looking at bars.",
        "done",
        "glm-4.6v",
    )
    message = question.to_message()
    assert message.attachments[0].path == stored.path


def test_rename_keeps_the_title_from_later_questions(store):
    cid = store.new_conversation()
    store.rename(cid, "  Budget review  ")
    store.add_message(cid, "user", "first question")
    store.flush()
    assert store.conversation(cid).title == "Budget review"


def test_titles_are_cut_at_a_word_boundary():
    title = make_title("  \n" + "word " * 40)
    assert title.endswith("…") and len(title) <= 61 and "  " not in title
    assert make_title("", ["report.pdf"]) == "report.pdf"
    assert make_title("") == "New chat"


def test_search_finds_titles_and_contents_case_insensitively_and_literally(store):
    a = store.new_conversation()
    store.add_message(a, "user", "Explain the Fourier transform")
    b = store.new_conversation()
    store.add_message(b, "user", "Hello")
    store.add_message(b, "assistant", "The answer mentions 100% of QUARTERLY revenue")
    store.flush()
    assert [c.id for c in store.search("fourier")] == [a]
    assert [c.id for c in store.search("quarterly")] == [b]
    assert [c.id for c in store.search("100%")] == [b]
    assert store.search("0%x") == []
    assert {c.id for c in store.search("  ")} == {a, b}


def test_deleting_a_conversation_removes_rows_and_files(store, tmp_path):
    cid = store.new_conversation()
    store.add_message(cid, "user", "look", [Attachment(_image(tmp_path), "image")])
    store.add_message(cid, "assistant", "ok")
    store.flush()
    folder = store.folder / "attachments" / cid
    assert any(folder.iterdir())
    store.delete(cid).result(10)
    assert not folder.exists()
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM attachments").fetchone()[0] == 0
    conn.close()
    assert store.conversation(cid) is None


def test_delete_after_drops_later_messages_and_their_files(store, tmp_path):
    cid = store.new_conversation()
    q1 = store.add_message(cid, "user", "one")
    store.add_message(cid, "assistant", "first answer")
    store.add_message(cid, "user", "two", [Attachment(_image(tmp_path), "image")])
    store.add_message(cid, "assistant", "second answer")
    store.flush()
    later_file = store.messages(cid)[2].attachments[0].path
    store.delete_after(q1).result(10)
    assert [m.text for m in store.messages(cid)] == ["one"]
    assert not later_file.exists()
    store.delete_after(q1, inclusive=True).result(10)
    assert store.messages(cid) == []


def test_last_opened_follows_deletion(store):
    a = store.new_conversation()
    store.set_last_opened(a)
    store.flush()
    assert store.last_opened() == a
    store.delete(a).result(10)
    assert store.last_opened() is None


def test_stream_saver_coalesces_and_finishes(store):
    cid = store.new_conversation()
    mid = store.add_message(cid, "assistant", status="streaming")
    saver = store.stream_saver(mid, interval=3600)
    assert not saver.due()
    saver.save("partial", "thinking so far")
    store.flush()
    assert store.messages(cid)[0].text == "partial"
    saver.finish("partial and more", "thinking so far", "stopped", finish_reason="cancelled").result(10)
    message = store.messages(cid)[0]
    assert (message.text, message.status, message.finish_reason) == ("partial and more", "stopped", "cancelled")


def test_a_partial_answer_survives_a_crash(tmp_path):
    """A separate process saves a partial answer and dies without closing anything; the next start finds it."""
    folder = tmp_path / "data"
    script = textwrap.dedent(
        f"""
        import os
        from app.core.store import Store
        store = Store({str(folder)!r})
        cid = store.new_conversation()
        store.add_message(cid, "user", "a long question")
        mid = store.add_message(cid, "assistant", status="streaming")
        saver = store.stream_saver(mid, interval=0.0)
        saver.save("The first half of the ans", "I should explain")
        store.flush()
        os._exit(9)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr
    raw = sqlite3.connect(folder / "history.sqlite3")
    assert raw.execute("SELECT text, status FROM messages WHERE role = 'assistant'").fetchone() == (
        "The first half of the ans",
        "streaming",
    )
    raw.close()
    with Store(folder) as store:
        (summary,) = store.conversations()
        answer = store.messages(summary.id)[1]
        assert (answer.text, answer.thinking) == ("The first half of the ans", "I should explain")
        assert (answer.status, answer.finish_reason) == ("stopped", "interrupted")


def test_export_markdown_copies_images_beside_the_file(store, tmp_path):
    cid = store.new_conversation()
    store.add_message(cid, "user", "Describe", [Attachment(_image(tmp_path, "my shot.png"), "image")])
    mid = store.add_message(cid, "assistant", status="streaming", model="glm-4.6v")
    store.save_message(mid, text="| a | b |\n|---|---|\n| 1 | 2 |", thinking="hmm", status="done")
    store.flush()
    path = export_markdown(store, cid, tmp_path / "export")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Describe") and "| a | b |" in text and "Thinking" in text
    images = list((tmp_path / "export" / "Describe_files").iterdir())
    assert len(images) == 1 and images[0].read_bytes() == PNG
    assert f"](Describe_files/{images[0].name.replace(' ', '%20')})" in text


def test_write_failures_are_reported(tmp_path):
    """The history's side failing (here a file where the conversation's attachment folder goes) fails the
    write; a source file that is gone does not (tests/core/media/test_media_messages.py)."""
    errors: list[str] = []
    with Store(tmp_path / "data", on_error=errors.append) as store:
        cid = store.new_conversation()
        store.files.mkdir(exist_ok=True)
        (store.files / cid).write_bytes(b"in the way")
        store.add_message(cid, "user", "x", [Attachment(_image(tmp_path), "image")])
        store.flush()
        assert errors and "Could not save the history" in errors[0]
        assert store.messages(cid) == []


def test_bad_status_and_ids_are_refused(store):
    with pytest.raises(ValueError):
        store.save_message("x", status="exploded")
    with pytest.raises(ValueError):
        store.delete("../../etc")


def test_editing_the_first_question_renames_the_conversation_unless_it_was_renamed_by_hand(store):
    cid = store.new_conversation()
    first = store.add_message(cid, "user", "old first question")
    store.add_message(cid, "assistant", "answer")
    second = store.add_message(cid, "user", "second question")
    store.edit_question(second, "second, edited", []).result(10)
    assert store.conversation(cid).title == "old first question"
    store.edit_question(first, "new first question", []).result(10)
    assert store.conversation(cid).title == "new first question"
    store.rename(cid, "My name for it").result(10)
    store.edit_question(first, "edited again", []).result(10)
    assert store.conversation(cid).title == "My name for it"


def test_edit_question_replaces_text_and_attachments_and_drops_later_answers(store, tmp_path):
    cid = store.new_conversation()
    first = _image(tmp_path, "first.png")
    second = _image(tmp_path, "second.png")
    q = store.add_message(cid, "user", "old question", [Attachment(first, "image"), Attachment(second, "image")])
    store.add_message(cid, "assistant", "old answer")
    store.flush()
    kept, dropped = store.messages(cid)[0].attachments
    assert kept.path.name == "first.png"
    new = _image(tmp_path, "third.png")
    store.edit_question(q, "new question", [kept.to_attachment(), Attachment(new, "image")]).result(10)
    (question,) = store.messages(cid)
    assert question.text == "new question"
    assert [a.name for a in question.attachments] == ["first.png", "third.png"]
    assert question.attachments[0].path == kept.path and kept.path.exists()
    assert not dropped.path.exists() and not dropped.path.parent.exists()
    assert question.attachments[1].path.read_bytes() == PNG


def test_a_second_store_on_the_same_history_leaves_the_first_one_s_live_answer_alone(tmp_path):
    """Another window on the same data folder must not mark an answer still streaming in this one interrupted;
    once this one is gone (closed or crashed: the OS drops its lock), the next owner recovers as before."""
    folder = tmp_path / "data"
    first = Store(folder)
    cid = first.new_conversation()
    first.add_message(cid, "user", "Explain")
    live = first.add_message(cid, "assistant", "The first half", status="streaming")
    first.flush()
    second = (
        "import sys\n"
        "from app.core.store import Store\n"
        "store = Store(sys.argv[1])\n"
        "print(store.messages(sys.argv[2])[1].status)\n"
        "store.close()\n"
    )
    seen = subprocess.run(
        [sys.executable, "-c", second, str(folder), cid], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert seen.stdout.strip() == "streaming", seen.stderr
    assert first.messages(cid)[1].status == "streaming"
    first.save_message(live, text="The first half and the rest", status="done").result(10)
    assert first.messages(cid)[1].text == "The first half and the rest"
    first.add_message(cid, "assistant", "Cut short", status="streaming")
    first.close()
    with Store(folder) as third:
        assert [m.status for m in third.messages(cid)] == ["done", "done", "stopped"]
