"""What a real run of the assembled app leaves on disk is readable by the person only: started on Xvfb with the
usual umask (022) on a profile an older version left open (0755 folders, 0644 files), the app tightens its
folders at start, and the history, log, settings, a capture taken with `glmv capture --full` and the copy of
it the history keeps when a question is sent with it are all 0700 folders and 0600 files."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from app.core.store import Store
from tests.support import xvfb
from tests.support.profiled_app import Profile, ask, glmv, launch, main_window, started, until, xvfb_and_server

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or ""),
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes"),
]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(folder: Path) -> dict[str, int]:
    """Every folder and file under ``folder`` (itself included) with its mode, by path relative to it."""
    found = {".": mode(folder)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = mode(path)
    return found


def private(found: dict[str, int], folder: Path) -> dict[str, int]:
    """What ``found`` should be: 0700 for the folders, 0600 for the files."""
    return {name: 0o700 if (folder / name).is_dir() else 0o600 for name in found}


def as_an_older_version_left_it(profile: Profile) -> None:
    with Store(profile.data):
        pass
    (profile.cache / "captures").mkdir(parents=True)
    (profile.cache / "captures" / "full-20250101-000000-000.png").write_bytes(PNG)
    profile.logs.mkdir(parents=True)
    (profile.logs / "glmv.log").write_text("2025-01-01 an old line\n")
    for folder in (profile.data, profile.config, profile.cache / "captures", profile.logs):
        for path in folder.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        folder.chmod(0o755)


@pytest.fixture
def usual_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_real_run_leaves_only_private_folders_and_files(tmp_path, usual_umask):
    with (
        xvfb_and_server(1280, 900) as (display, server),
        started(launch(display, server, tmp_path, as_an_older_version_left_it), main_window, "the main window") as app,
    ):
        profile = app.profile
        captures = profile.cache / "captures"
        at_start = {folder: modes(folder) for folder in (profile.data, profile.config, captures, profile.logs)}
        assert at_start == {folder: private(found, folder) for folder, found in at_start.items()}, "at start"
        done = glmv(app, "capture", "--full")
        assert done.returncode == 0, done.stderr
        shot = Path(done.stdout.strip())
        assert shot.parent == captures and mode(shot) == 0o600
        content = ask(app, "what is on the screen?")
        assert any(part["type"] == "image_url" for part in content)
        until(lambda: list((profile.data / "attachments").rglob("*.png")), 20, "the capture in the history", app)
        for folder in (profile.data, profile.config, captures, profile.logs):
            found = modes(folder)
            assert found == private(found, folder), folder
        assert {"history.sqlite3", "history.sqlite3-wal", "history.sqlite3-shm"} <= set(modes(profile.data))
        assert {"glmv.log", "crash.log"} <= set(modes(profile.logs))
        assert app.proc.poll() is None
