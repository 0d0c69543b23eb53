"""What the app writes about the person (history, attachments, captures, recordings, logs, settings) is readable
by them only: folders 0700, files 0600, on real files; folders an older version left open are tightened when
they are next used; what the person exports keeps their usual permissions."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core import logs, private_files
from app.core.capture.geometry import Rect
from app.core.capture.screenshotters import Shot
from app.core.conversation import Attachment
from app.core.export import export_markdown
from app.core.secrets import KeyVault
from app.core.settings import Settings, load, save
from app.core.store import DB_NAME, Store
from tests.support.paths import ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    """The umask most desktops run with, so 'private' cannot come from the test's own environment."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def older_version(folder: Path, *files: str) -> None:
    """A folder as releases before this one left it: 0755, its files 0644."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PNG)
        path.chmod(0o644)
        path.parent.chmod(0o755)
    folder.chmod(0o755)


def test_missing_folders_are_made_private_and_an_open_tree_is_tightened(tmp_path):
    made = private_files.private_folder(tmp_path / "a" / "b" / "c")
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", made)] == [0o700] * 3
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    old = tmp_path / "old"
    older_version(old, "x.png", "sub/y.png")
    (old / "link").symlink_to(outside)
    private_files.private_folder(old)
    assert [mode(p) for p in (old, old / "sub")] == [0o700, 0o700]
    assert [mode(p) for p in (old / "x.png", old / "sub" / "y.png")] == [0o600, 0o600]
    assert mode(outside) == 0o644, "a link is not followed"


def test_a_private_folder_is_not_walked_again(tmp_path):
    """Once the folder is 0700 nobody else can reach what is inside, so the start does not walk it each time."""
    folder = private_files.private_folder(tmp_path / "data")
    inside = folder / "put-there-by-hand.txt"
    inside.write_text("x")
    inside.chmod(0o644)
    private_files.private_folder(folder)
    assert mode(inside) == 0o644


def test_the_history_its_log_and_its_attachments_are_private(tmp_path):
    folder = tmp_path / "share" / "glmv-desktop"
    image = tmp_path / "shot.png"
    image.write_bytes(PNG)
    with Store(folder) as store:
        conversation = store.new_conversation()
        store.add_message(conversation, "user", "what is this?", [Attachment(path=image)])
        store.flush()
        (stored,) = store.messages(conversation)[0].attachments
        sqlite_files = [folder / (DB_NAME + suffix) for suffix in ("", "-wal", "-shm")]
        assert [mode(p) for p in sqlite_files] == [0o600] * 3
    assert mode(folder) == 0o700 and mode(tmp_path / "share") == 0o700
    assert stored.path.read_bytes() == PNG and mode(stored.path) == 0o600
    folders = [p for p in stored.path.parents if folder in p.parents]
    assert folders and all(mode(p) == 0o700 for p in folders)


def test_a_history_an_older_version_left_open_is_tightened_when_opened(tmp_path):
    folder = tmp_path / "data"
    Store(folder).close()
    older_version(folder, "attachments/c1/a1/shot.png")
    (folder / DB_NAME).chmod(0o644)
    with Store(folder):
        pass
    assert mode(folder) == 0o700 and mode(folder / DB_NAME) == 0o600
    assert mode(folder / "attachments" / "c1" / "a1") == 0o700
    assert mode(folder / "attachments" / "c1" / "a1" / "shot.png") == 0o600


def test_an_export_keeps_the_persons_usual_permissions(tmp_path):
    image = tmp_path / "shot.png"
    image.write_bytes(PNG)
    with Store(tmp_path / "data") as store:
        conversation = store.new_conversation()
        store.add_message(conversation, "user", "Exported", [Attachment(path=image)])
        store.flush()
        markdown = export_markdown(store, conversation, tmp_path / "Documents")
    assert mode(markdown) == 0o644
    assert all(mode(p) == 0o644 for p in markdown.parent.rglob("*") if p.is_file())


def test_settings_and_their_folder_are_private_and_an_old_folder_is_tightened_at_start(tmp_path):
    config = tmp_path / "config" / "glmv-desktop"
    path = save(Settings(model="m"), config / "settings.json")
    assert (mode(config), mode(path)) == (0o700, 0o600)
    older_version(config, "settings.json")
    path.write_text('{"model": "m"}')
    assert load(path).model == "m"
    assert (mode(config), mode(path)) == (0o700, 0o600)
    vault = KeyVault(tmp_path / "keys", use_keyring=False)
    vault.set("zai", "0123456789abcdef.secretpart")
    assert (mode(vault.folder), mode(vault.file)) == (0o700, 0o600)


@pytest.fixture
def log_setup():
    yield
    for handler in list(logs._installed):
        logging.getLogger().removeHandler(handler)
        handler.close()
    logs._installed.clear()


def test_the_log_folder_and_every_log_file_are_private(tmp_path, log_setup, monkeypatch):
    folder = tmp_path / "state" / "log"
    older_version(folder, "glmv.log")
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    path = logs.setup_logging(False, folder=folder)
    for i in range(60):
        logging.getLogger("app.test").info("line %d %s", i, "words " * 10)
    for handler in logs._installed:
        handler.flush()
    files = sorted(folder.iterdir())
    assert path in files and len(files) > 2, "the log rotated"
    assert mode(folder) == 0o700
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_a_fresh_log_file_is_private(tmp_path, log_setup):
    path = logs.setup_logging(False, folder=tmp_path / "log")
    logging.getLogger("app.test").info("hello")
    for handler in logs._installed:
        handler.flush()
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)


def test_the_crash_trace_file_is_private(tmp_path):
    folder = tmp_path / "state" / "log"
    # In a child: faulthandler stays pointed at the file for the life of the process.
    code = "import sys, pathlib; from app.core import logs; print(logs.enable_crash_traces(pathlib.Path(sys.argv[1])))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    path = Path(done.stdout.strip())
    assert path == folder / "crash.log", done.stderr
    assert (mode(folder), mode(path)) == (0o700, 0o600)


def test_captures_and_their_folder_are_private(tmp_path):
    captures = tmp_path / "cache" / "glmv-desktop" / "captures"
    older_version(captures, "full-20260101-000000-000.png")
    shot = Shot(np.full((40, 60, 4), 128, dtype=np.uint8), Rect(0, 0, 60, 40))
    path = shot.save_png(captures / "region-20261201-000000-000.png")
    assert mode(captures) == 0o700
    assert {p.name: mode(p) for p in captures.iterdir()} == {p.name: 0o600 for p in captures.iterdir()}
    assert path.exists()


@pytest.mark.parametrize("encoder", ["pyav", "opencv"])
def test_recordings_and_their_folder_are_private(tmp_path, encoder):
    if encoder == "pyav":
        pytest.importorskip("av")
    from app.core.capture.recorder import Recorder

    captures = tmp_path / "cache" / "captures"
    recorder = Recorder(captures / "recording.mp4", (64, 48), fps=5, max_seconds=1, encoder=encoder)
    recorder.add(np.zeros((48, 64, 4), np.uint8), 0.0)
    report = recorder.finish()
    assert report.path.stat().st_size > 0
    assert (mode(captures), mode(report.path)) == (0o700, 0o600)
