"""The whole app on a private X server, driven as a person drives it, with eyes for the test.

The app is `app.cli`'s main, started in a process of its own on Xvfb with a temporary profile against the loopback
OpenAI-compatible server by ``profiled_app``, as every test of the whole app is. People act through xdotool
(keys, typing, clicks at the places widgets are drawn) and `glmv capture`. What a person sees on screen the test
reads from the running window itself: this module, run as the app's entry point, creates the QApplication first
and answers Python expressions about the widgets on a local socket, in the Qt thread (``look``), before handing
over to ``app.cli.main``. Only looking goes through that socket; every action is an X event.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.profiled_app import Running, launch, started, until, xdotool, xvfb_and_server

App = Running  # what ``running_app`` yields: env, server, proc, captures, log (the app's output)

W, H = 1600, 1000
PROBE_ENV = "GLMV_TEST_PROBE"


# ------------------------------------------------------------------------------------------ in the app process


def _serve_probe(path: str) -> None:
    """Answers one JSON line per connection: {"code": ...} evaluated (or executed, leaving ``result``) with
    ``w`` the main window, ``shell`` its desktop shell and ``rect(widget)`` a widget's place on screen."""
    from PySide6.QtCore import QObject, QPoint
    from PySide6.QtNetwork import QLocalServer
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    def rect(widget: Any) -> tuple[int, int, int, int]:
        top_left = widget.mapToGlobal(QPoint(0, 0))
        return top_left.x(), top_left.y(), widget.width(), widget.height()

    def namespace() -> dict[str, Any]:
        window = next((w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)), None)
        shell = window.findChild(QObject, "desktopShell") if window is not None else None
        return {"w": window, "shell": shell, "rect": rect, "app": QApplication.instance()}

    server = QLocalServer()
    QLocalServer.removeServer(path)
    if not server.listen(path):
        raise RuntimeError(f"the probe cannot listen on {path}: {server.errorString()}")

    def answer(connection: Any) -> None:
        if not connection.canReadLine():
            return
        code = json.loads(bytes(connection.readLine().data()).decode())["code"]
        scope = namespace()
        try:
            try:
                reply: dict[str, Any] = {"value": eval(compile(code, "<probe>", "eval"), scope)}
            except SyntaxError:
                exec(compile(code, "<probe>", "exec"), scope)
                reply = {"value": scope.get("result")}
        except Exception as e:  # the test reads it
            reply = {"error": f"{type(e).__name__}: {e}"}
        connection.write((json.dumps(reply, default=repr) + "\n").encode())
        connection.flush()
        connection.disconnectFromServer()

    def connected() -> None:
        connection = server.nextPendingConnection()
        connection.readyRead.connect(lambda: answer(connection))

    server.newConnection.connect(connected)
    QApplication.instance().setProperty("testProbe", server)  # kept alive with the app


def main() -> int:
    from PySide6.QtWidgets import QApplication

    QApplication(sys.argv[:1])  # app.ui.main.run uses the one that exists
    _serve_probe(os.environ[PROBE_ENV])
    from app.cli import main as cli_main

    return cli_main([])


# ------------------------------------------------------------------------------------------ in the test


def look(app: App, code: str) -> Any:
    """What the running window says about itself: ``code`` evaluated in its Qt thread (see ``_serve_probe``)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(20)
        conn.connect(app.env[PROBE_ENV])
        conn.sendall((json.dumps({"code": code}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            piece = conn.recv(65536)
            if not piece:
                break
            data += piece
    reply = json.loads(data)
    if "error" in reply:
        raise AssertionError(f"{code!r} failed in the app: {reply['error']}")
    return reply["value"]


def click(app: App, widget: str, dx: int | None = None, dy: int | None = None, button: str = "1") -> None:
    """A person's click on ``widget`` (an expression for it), at its centre or at (dx, dy) inside it."""
    x, y, w, h = look(app, f"rect({widget})")
    assert w > 0 and h > 0, f"{widget} is not on screen"
    px, py = x + (w // 2 if dx is None else dx), y + (h // 2 if dy is None else dy)
    xdotool(app, "mousemove", "--sync", str(px), str(py), "sleep", "0.1", "click", button)


def key(app: App, *chords: str) -> None:
    xdotool(app, "key", "--delay", "60", *chords)


def type_text(app: App, text: str) -> None:
    xdotool(app, "type", "--delay", "15", text)


def snapshot(app: App, name: str) -> Path:
    """The whole X screen as a PNG beside the app's output, to look at."""
    import mss
    import mss.tools

    path = app.log.with_name(f"{name}.png")
    with getattr(mss, "MSS", mss.mss)(display=app.env["DISPLAY"]) as sct:
        raw = sct.grab({"left": 0, "top": 0, "width": W, "height": H})
        mss.tools.to_png(raw.rgb, raw.size, output=str(path))
    return path


def settle(app: App, seconds: float = 0.3) -> None:
    """X events are handled by the app's loop: a round trip through the probe says they were."""
    time.sleep(seconds)
    look(app, "app.processEvents()")


def start_new_chat(app: App) -> None:
    """A new chat, nothing in the composer, the window in front: what each real-window test starts from."""
    assert app.proc.poll() is None, f"the app exited: {app.log.read_text()[-3000:]}"
    look(app, "w.focus_composer()")
    activate(app)  # tooltips are shown for the active window only
    key(app, "ctrl+n")
    settle(app)


def attach_from_dialog(app: App, path: Path) -> None:
    """Ctrl+O, the file's path typed into the dialog, Enter."""
    key(app, "ctrl+o")
    until(lambda: look(app, "app.activeModalWidget() is not None"), 10, "the file dialog")
    settle(app, 0.5)
    type_text(app, str(path))
    key(app, "Return")
    until(lambda: look(app, "app.activeModalWidget() is None"), 10, "the file dialog to close")
    activate(app)


def activate(app: App) -> None:
    """What a window manager does when a dialog closes, or a click on the window: X focus back on it (with no
    window manager it is left on nothing, and the window is inactive)."""
    xdotool(app, "windowfocus", "--sync", str(look(app, "int(w.winId())")))
    settle(app)


@contextmanager
def running_app(tmp: Path, settings: dict | None = None, env: dict[str, str] | None = None) -> Iterator[App]:
    """The app on its own Xvfb, profile under ``tmp``, the vllm preset against a loopback server (``env`` added
    to its environment), its window shown and answering on its command channel and on the probe."""

    def up(app: App) -> bool:
        try:
            return bool(look(app, "w is not None and w.isVisible() and w.windowHandle().isExposed()"))
        except OSError:
            return False

    probe = {**(env or {}), PROBE_ENV: str(tmp / "probe.sock")}
    with (
        xvfb_and_server(W, H) as (display, server),
        started(
            launch(display, server, tmp, settings=settings, env=probe, module="tests.support.app_window"),
            up,
            "the window",
        ) as app,
    ):
        time.sleep(0.5)
        yield app


if __name__ == "__main__":
    sys.exit(main())
