"""Start the desktop window: ``run(overrides)`` for `glmv`, ``build_main_window`` for tests and benchmarks.

Only what the first window needs is imported here; the local backend (torch, transformers) is imported when
the settings choose it, never at start-up with an API backend.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.core import settings as settings_io
from app.core.backends.base import Backend
from app.core.errors import AppError
from app.core.secrets import KeyVault
from app.core.settings import Settings
from app.core.store import Store, default_folder

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

# How long a thread running Python (an answer's render, a formula, a file being prepared) keeps the GIL while
# the Qt thread waits for it. Qt calls into Python at every override (paint, resize, event filters) and waits
# that long each time: at Python's default 5 ms, a window opened while the render thread cut a long answer
# spent 750-900 ms in its first events; at 1 ms, 50-160 ms.
GIL_SWITCH_S = 0.001


def build_main_window(
    settings: Settings,
    backend: Backend | None = None,
    *,
    store: Store,
    vault: KeyVault | None = None,
    settings_path: Path | None = None,
    backend_error: str | None = None,
) -> MainWindow:
    """The main window for these settings and this backend, not shown and without entering the event loop.
    A QApplication must exist; from now on the Qt thread gets the GIL back within GIL_SWITCH_S. When
    ``backend`` is None the one the settings describe is made."""
    from app.core.backends.factory import BackendUnavailable, make_backend
    from app.ui.main_window import MainWindow

    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
    vault = vault or KeyVault()
    if backend is None and backend_error is None:
        try:
            backend = make_backend(settings, vault)
        except BackendUnavailable as e:
            backend_error = str(e)
    return MainWindow(settings, backend, store, vault, settings_path=settings_path, backend_error=backend_error)


def report(status: int, text: str) -> int:
    """Print what the running app said of a handed-over command (a result on stdout, a failure on stderr)."""
    if status == 0:
        if text:
            print(text)
    else:
        print(f"glmv: {text}", file=sys.stderr)
    return status


def run(overrides: dict | None = None, *, command: str | None = None) -> int:
    """`glmv`: load the settings (with this run's overrides), open the history, show the window.

    Only one instance runs: a second `glmv` hands ``command`` (or "show") to the first and exits. ``command`` is
    also how `glmv capture` starts the app when none was running: the capture begins once the window is up.
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui.instance import InstanceServer, hand_over

    app = QApplication.instance() or QApplication(sys.argv[:1])
    server = InstanceServer()
    if not server.listen():
        handed = hand_over(command or "show", 2000)
        if handed is None:
            print("glmv: another instance holds the app's socket but does not answer; close it and try again")
            return 1
        return report(*handed)
    from app.core.logs import enable_crash_traces

    enable_crash_traces()
    from app.ui.qt_gc import QtThreadCollector

    collector = QtThreadCollector(app)
    collector.start()
    # Static setters, on the class: instance() is typed as the QCoreApplication, which lacks the GUI ones.
    QApplication.setApplicationName("GLM-V")
    QApplication.setApplicationDisplayName("GLM-V")
    QApplication.setOrganizationName("glmv-desktop")
    QApplication.setDesktopFileName("glmv-desktop")
    settings = settings_io.load().with_overrides(overrides or {})
    from app.ui import first_run

    if first_run.needed() and settings.damaged is None and not overrides and command is None:
        # First start (not one a capture command caused, nor a damaged settings file set aside: the window says
        # so): say what this machine can do and what leaves it with each choice. "Decide later" saves nothing,
        # so the welcome comes back next time; the window opens anyway.
        from app.ui.workers import Tasks

        chosen = first_run.run_first_start(settings, KeyVault(), Tasks(app))
        if chosen is not None:
            settings = chosen
    window_box: list = []

    def store_error(message: str) -> None:
        if window_box:
            window_box[0].store_error.emit(message)

    try:
        store = Store(on_error=store_error)
    except (OSError, RuntimeError, AppError, sqlite3.Error) as e:
        # Damage is set aside by Store itself; this is a history it cannot open at all (locked, refused).
        from PySide6.QtWidgets import QMessageBox

        message = (
            f"The history cannot be opened ({e}). If another GLM-V is using it, quit that one; otherwise check "
            f"that {default_folder()} can be written to, then start GLM-V again."
        )
        logging.getLogger(__name__).error("%s", message)
        QMessageBox.critical(None, "GLM-V", message)
        return 1
    from app.core import private_files
    from app.ui.capture import controller

    if controller.default_folder().is_dir():
        # The history, settings and log folders close when opened; captures an older version left open, here.
        private_files.private_folder(controller.default_folder())
    window = build_main_window(settings, store=store)
    window_box.append(window)
    for warning in settings.warnings:
        window.statusBar().showMessage(warning, 15000)
    from app.ui.shell import DesktopShell

    shell = DesktopShell(window, settings_path=settings_io.default_path(), server=server)
    window.show()
    from app.ui.damaged_notice import show_set_aside

    show_set_aside(window, [d for d in (settings.damaged, store.damaged) if d is not None])
    if command is not None:
        from app.ui.instance import dispatch

        # This process is the app: a failure shows in its window, so nobody else needs the answer.
        QTimer.singleShot(300, lambda: dispatch(shell.commands(), command, lambda line: None))
    try:
        return app.exec()
    finally:
        collector.stop()
        server.close()
        store.close()
