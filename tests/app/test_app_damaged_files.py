"""The assembled app started on a real X server with a damaged history database or settings file: the window
comes up, a dialog says what was set aside and where, the old file is there under its new name, and the new
empty history takes a question. One Xvfb and one loopback server for the module, one app per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support import damaged_history, xvfb
from tests.support.openai_server import OpenAIServer
from tests.support.profiled_app import (
    Profile,
    Running,
    ask,
    launch,
    main_window,
    output,
    saved_questions,
    stop,
    until,
    visible,
    xdotool,
    xvfb_and_server,
)

pytestmark = [pytest.mark.gui, pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")]
DIALOG = "^Damaged files? set aside"


@pytest.fixture(scope="module")
def desktop() -> Iterator[tuple[dict[str, str], OpenAIServer]]:
    with xvfb_and_server(1600, 1000) as (display, server):
        yield display, server


@pytest.fixture
def start(desktop, tmp_path) -> Iterator[Callable[[Callable[[Profile], None]], Running]]:
    """Starts the app on a fresh profile after ``damage(profile)``."""
    started: list[Running] = []

    def run(damage: Callable[[Profile], None]) -> Running:
        started.append(launch(*desktop, tmp_path, damage))
        return started[-1]

    yield run
    for app in started:
        stop(app)


def dialog_then_dismissed(app: Running) -> None:
    """The window and the dialog over it are up; a person reads it and presses Enter."""
    until(lambda: main_window(app), 60, "the main window", app)
    (dialog,) = until(lambda: visible(app, DIALOG), 20, "the dialog about the damaged file", app)
    xdotool(app, "windowfocus", "--sync", dialog, "key", "Return")
    until(lambda: not visible(app, DIALOG), 10, "the dialog to close", app)


@pytest.mark.parametrize("kind", list(damaged_history.KINDS))
def test_a_damaged_history_is_set_aside_and_the_app_starts_with_an_empty_one(start, kind):
    original: list[bytes] = []

    def damage(profile: Profile) -> None:
        path = damaged_history.filled(profile.data, conversations=60)
        damaged_history.KINDS[kind](path)
        original.append(path.read_bytes())

    app = start(damage)
    dialog_then_dismissed(app)
    data = app.profile.data
    (kept,) = data.glob("history.damaged-*.sqlite3")
    assert kept.read_bytes() == original[0]
    log = app.profile.log.read_text()
    assert f"The history file {data / 'history.sqlite3'} is damaged" in log and str(kept) in log
    ask(app, f"after the {kind} history")
    until(lambda: saved_questions(app) == [f"after the {kind} history"], 20, "the question in the history", app)
    assert app.proc.poll() is None


def test_a_damaged_settings_file_is_set_aside_and_the_app_starts_with_the_defaults(start):
    noise = bytes(range(256)) * 4

    def damage(profile: Profile) -> None:
        (profile.config / "settings.json").write_bytes(noise)

    app = start(damage)
    dialog_then_dismissed(app)
    config = app.profile.config
    (kept,) = config.glob("settings.damaged-*.json")
    assert kept.read_bytes() == noise
    assert f"The settings file {config / 'settings.json'} is damaged" in app.profile.log.read_text()
    assert not visible(app, "^Welcome"), "a person whose settings were damaged is not on their first start"
    assert app.proc.poll() is None


def test_a_history_that_cannot_be_opened_at_all_is_said_in_a_dialog_not_a_traceback(start):
    """Not damage (nothing to set aside): the history's place holds a folder. SQLite cannot open it."""
    app = start(lambda profile: (profile.data / "history.sqlite3").mkdir(parents=True))
    (dialog,) = until(lambda: visible(app, "^GLM-V$"), 60, "the message", app)
    xdotool(app, "windowfocus", "--sync", dialog, "key", "Return")
    until(lambda: app.proc.poll() is not None, 20, "the app to end after the message", app)
    assert app.proc.returncode == 1
    text = output(app)
    assert "Traceback" not in text, text[-2000:]
    assert "The history cannot be opened" in app.profile.log.read_text()
