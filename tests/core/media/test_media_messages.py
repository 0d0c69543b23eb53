"""Messages that say what really happened: a truncated image is damaged (not unreadable), a symbolic link that
loops or dangles is named so, and a question whose attachment was deleted is still saved, with the window told
the file is gone."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.conversation import Attachment
from app.core.media import MediaError, MediaTarget, prepare
from app.core.store import Store
from tests.support.cli import glmv


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (400, 600, 3), np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("keep", [10, 50, 300, 600, 5000])
def test_a_truncated_jpeg_says_it_is_damaged_wherever_it_was_cut(tmp_path, keep):
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg_bytes()[:keep])
    with pytest.raises(MediaError) as raised:
        prepare(Attachment(path), MediaTarget())
    message = str(raised.value)
    assert "check that the file is there and readable" not in message
    assert "corrupt or truncated" in message or "not an image this app can read" in message


def loop(tmp_path: Path) -> Path:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    os.symlink(b, a)
    os.symlink(a, b)
    return a


def dangling(tmp_path: Path) -> Path:
    link = tmp_path / "shot.png"
    os.symlink(tmp_path / "moved-away.png", link)
    return link


def test_a_symlink_loop_is_named_a_loop(tmp_path):
    with pytest.raises(MediaError, match=r"a\.png: is a symbolic link that loops back on itself"):
        prepare(Attachment(loop(tmp_path)), MediaTarget())


def test_a_dangling_symlink_names_its_missing_target(tmp_path):
    with pytest.raises(MediaError, match=r"shot\.png: is a symbolic link to .*moved-away\.png, which does not exist"):
        prepare(Attachment(dangling(tmp_path)), MediaTarget())


def test_the_command_line_says_the_same(tmp_path):
    result = glmv("inspect", str(loop(tmp_path)), str(dangling(tmp_path)), timeout=60)
    assert result.returncode == 2
    assert "a.png: is a symbolic link that loops back on itself" in result.stderr
    assert "which does not exist" in result.stderr and "no such file" not in result.stderr
    sub = tmp_path / "sub"
    sub.mkdir()
    asked = glmv("ask", "--base-url", "http://127.0.0.1:9/v1", "--attach", str(loop(sub)), "?", timeout=60)
    assert asked.returncode == 2 and "loops back on itself" in asked.stderr


def test_a_question_whose_attachment_was_deleted_is_saved_and_the_window_told(tmp_path):
    kept = tmp_path / "kept.png"
    Image.new("RGB", (8, 8), "red").save(kept)
    errors: list[str] = []
    with Store(tmp_path / "data", on_error=errors.append) as store:
        cid = store.new_conversation()
        store.add_message(cid, "user", "what changed?", [Attachment(tmp_path / "gone.png", "image"), Attachment(kept)])
        store.add_message(cid, "assistant", "The chart.")
        store.flush()
        question, answer = store.messages(cid)
        assert (question.role, question.text, answer.text) == ("user", "what changed?", "The chart.")
        assert [a.name for a in question.attachments] == ["kept.png"]
        (error,) = errors
        assert error.startswith("gone.png was not kept with the question: the file is gone")
        assert "disk space" not in error and "attach it again" in error


def test_an_edited_question_whose_new_attachment_was_deleted_keeps_its_edit(tmp_path):
    errors: list[str] = []
    with Store(tmp_path / "data", on_error=errors.append) as store:
        cid = store.new_conversation()
        first = store.add_message(cid, "user", "old")
        store.edit_question(first, "new", [Attachment(tmp_path / "gone.pdf", "pdf")]).result(10)
        (question,) = store.messages(cid)
        assert question.text == "new" and question.attachments == []
        assert errors and "gone.pdf was not kept" in errors[0]
