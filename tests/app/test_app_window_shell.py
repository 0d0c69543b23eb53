"""Quitting and the floating window, in the assembled app on a real X server (``tests.support.app_window``), as a person
meets them: keys through xdotool, the close a window manager sends, what lands on screen.

Each quitting test has an app of its own, since it ends it.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support import xvfb
from tests.support.app_window import look, running_app, settle, snapshot, type_text
from tests.support.openai_server import dialect_stream
from tests.support.profiled_app import until, xdotool

pytestmark = [pytest.mark.gui, pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")]


def activate(app, window: str = "w") -> None:
    """X focus on ``window``, as a window manager gives it on a click (Xvfb has none)."""
    xdotool(app, "windowfocus", "--sync", str(look(app, f"int({window}.winId())")))
    settle(app)


def close_as_a_window_manager_does(app, window: str = "w") -> None:
    """The title bar's close button: the window manager sends WM_DELETE_WINDOW to the window (xdotool's
    windowclose destroys the X window instead, and alt+F4 is the window manager's own key)."""
    code = f"""
from Xlib import X, display, protocol
d = display.Display()
win = d.create_resource_object("window", {look(app, f"int({window}.winId())")})
message = protocol.event.ClientMessage(
    window=win,
    client_type=d.intern_atom("WM_PROTOCOLS"),
    data=(32, [d.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]),
)
win.send_event(message, event_mask=X.NoEventMask)
d.sync()
"""
    subprocess.run([sys.executable, "-c", code], env=app.env, check=True, timeout=20)


def exit_code(app) -> int:
    try:
        return app.proc.wait(20)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the app is still running: {app.log.read_text()[-2000:]}") from None


def test_ctrl_q_in_the_window_quits_the_app_and_its_floating_window(tmp_path):
    with running_app(tmp_path) as app:
        activate(app)
        xdotool(app, "key", "ctrl+shift+c")
        until(lambda: look(app, "shell.floating.isVisible()"), 10, "the floating window")
        activate(app)
        xdotool(app, "key", "ctrl+q")
        assert exit_code(app) == 0


def test_without_a_tray_closing_the_window_quits_even_with_keep_running_in_the_tray_on(tmp_path):
    with running_app(tmp_path, {"close_to_tray": True}) as app:
        assert look(app, "shell.tray is None and w.settings.close_to_tray"), "this display has a tray after all"
        snapshot(app, "before-close")
        close_as_a_window_manager_does(app)
        assert exit_code(app) == 0


BUTTONS = "(f.capture_button, f.record_button, f.attach_button, f.send_button, f.pin_button, f.open_main_button)"


def whole_and_apart(app) -> None:
    """Every button and the question field lie inside the floating window, none over another, none narrower
    than its label needs."""
    window = look(app, "rect(shell.floating)")
    parts = look(app, f"[rect(x) for x in (f.input, *{BUTTONS})] if (f := shell.floating) else []")
    needed = look(app, f"[(x.width(), x.sizeHint().width()) for x in {BUTTONS}] if (f := shell.floating) else []")
    for x, y, width, height in parts:
        assert window[0] <= x and x + width <= window[0] + window[2], ("cut off at a side", parts, window)
        assert window[1] <= y and y + height <= window[1] + window[3], ("cut off at the bottom", parts, window)
    for n, a in enumerate(parts):
        for b in parts[n + 1 :]:
            apart = a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
            assert apart, ("two overlap", a, b)
    assert all(width >= hint for width, hint in needed), ("a button's label is cut", needed)
    assert parts[0][2] >= 200, "the question field is a sliver"


def test_the_floating_window_opens_off_the_main_window_whole_and_is_empty_after_sending(tmp_path):
    with running_app(tmp_path) as app:
        xdotool(app, "windowsize", "--sync", str(look(app, "int(w.winId())")), "1100", "640")
        activate(app)
        xdotool(app, "key", "ctrl+shift+c")
        until(lambda: look(app, "shell.floating.isVisible()"), 10, "the floating window")
        settle(app, 0.5)
        snapshot(app, "floating-opened")
        x, y, width, height = look(app, "shell.floating.frameGeometry().getRect()")
        area = look(app, "shell.floating.screen().availableGeometry().getRect()")
        main = look(app, "w.frameGeometry().getRect()")
        assert area[0] <= x and x + width <= area[0] + area[2] and area[1] <= y and y + height <= area[1] + area[3]
        assert x + width > area[0] + area[2] - 100 and y + height > area[1] + area[3] - 100, "not bottom-right"
        assert x >= main[0] + main[2] or y >= main[1] + main[3], "it opened over the main window"
        whole_and_apart(app)

        app.server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer="A chart."))
        activate(app, "shell.floating")
        type_text(app, "What is on my screen?")
        xdotool(app, "key", "Return")
        until(lambda: app.server.chat_requests, 20, "the question at the server", app)
        assert app.server.chat_requests[-1].body["messages"][-1]["content"] == "What is on my screen?"
        until(lambda: not look(app, "w.is_streaming()"), 20, "the answer", app)
        settle(app)
        assert look(app, "shell.floating.input.text()") == "", "the question stayed in the floating window"
        assert look(app, "w.composer.input.toPlainText()") == ""

        # As small as a window manager lets a person drag it: the least size the window asks of X.
        floating = str(look(app, "int(shell.floating.winId())"))
        hints = subprocess.run(
            ["xprop", "-id", floating, "WM_NORMAL_HINTS"], env=app.env, capture_output=True, text=True, check=True
        ).stdout
        least = re.search(r"minimum size: (\d+) by (\d+)", hints)
        assert least is not None, hints
        xdotool(app, "windowsize", "--sync", floating, least[1], least[2])
        settle(app, 0.5)
        snapshot(app, "floating-smallest")
        assert look(app, "shell.floating.size().toTuple()") == [int(least[1]), int(least[2])]
        whole_and_apart(app)
