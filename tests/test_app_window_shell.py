"""Quitting and the floating window, in the assembled app on a real X server (``tests.app_window``), as a person
meets them: keys through xdotool, the close a window manager sends, what lands on screen.

Each quitting test has an app of its own, since it ends it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import xvfb
from tests.app_window import look, running_app, settle, snapshot
from tests.profiled_app import until, xdotool

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
