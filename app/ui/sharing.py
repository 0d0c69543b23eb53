"""Sharing the window's loaded model with other tools: the Settings field and the status bar's note.

The server itself is ``app.serve.share`` (Qt-free). Here the window decides when it runs: with the setting on and
the local backend chosen, from the moment that backend exists (requests get 503 until its model is loaded); it
stops when the setting goes off, the backend changes or the app quits. The note says the address and how many
requests wait, polled twice a second (the line lives on other threads).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from app.core.backends.factory import is_local
from app.core.settings import LIMITS, Settings

REFRESH_MS = 500


class ShareField(QWidget):
    """Settings, local page: "Share the loaded model with other tools on 127.0.0.1: [8000]"."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.enabled = QCheckBox("Share the loaded model with other tools on 127.0.0.1:")
        self.enabled.setObjectName("shareModel")
        self.enabled.setChecked(settings.share_model)
        self.port = QSpinBox()
        self.port.setObjectName("sharePort")
        self.port.setRange(*(int(v) for v in LIMITS["share_port"]))
        self.port.setValue(settings.share_port)
        self.port.setAccessibleName("port to share the model on")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.enabled)
        row.addWidget(self.port)
        row.addStretch(1)
        note = QLabel(
            "One copy of the model in memory serves this window and any OpenAI-compatible tool on this computer "
            "(base URL http://127.0.0.1:PORT/v1, any API key). Other computers cannot connect."
        )
        note.setWordWrap(True)
        note.setObjectName("localNote")  # muted like the local page's other note (theme.py)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(note)

    def values(self) -> dict[str, Any]:
        return {"share_model": self.enabled.isChecked(), "share_port": self.port.value()}


class ModelSharing(QObject):
    """Runs the share for ``window`` (a ``MainWindow``) and shows it in its status bar."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.shared: Any = None  # app.serve.share.SharedModel while sharing
        self.problem = ""
        self._failed: tuple[int, int] | None = None  # (engine, port) that could not be shared: not retried
        self.label = QLabel("")
        self.label.setObjectName("shareStatus")
        self.label.setVisible(False)
        window.statusBar().addPermanentWidget(self.label)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        window.settings_applied.connect(lambda _settings: self.refresh(retry=True))
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)
        self.refresh()

    def _wanted(self) -> tuple[Any, int] | None:
        settings, backend = self.window.settings, self.window.backend
        if not settings.share_model or not is_local(backend):
            return None
        return backend.engine, settings.share_port

    def refresh(self, retry: bool = False) -> None:
        wanted = self._wanted()
        shared = self.shared
        if shared is not None and (wanted is None or (shared.engine, shared.port) != wanted):
            self.stop()
        if retry or wanted is None:
            self._failed, self.problem = None, ""
        if wanted is not None and self.shared is None and self._failed != (id(wanted[0]), wanted[1]):
            self._start(*wanted)
        self._show()

    def _start(self, engine: Any, port: int) -> None:
        try:
            from app.serve.server import ServeError
            from app.serve.service import model_name_of
            from app.serve.share import SharedModel
        except ImportError as e:
            self._give_up(
                engine,
                port,
                f"sharing needs the 'serve' extra ({e.name} is missing): pip install 'glmv-desktop[serve]'",
            )
            return
        try:
            self.shared = SharedModel(engine, port, model_name_of(str(self.window.backend.model)))
        except (ServeError, ImportError) as e:
            self._give_up(engine, port, str(e))

    def _give_up(self, engine: Any, port: int, problem: str) -> None:
        self._failed = (id(engine), port)
        self.problem = problem
        self.window.statusBar().showMessage(f"The model is not shared: {problem}", 15000)

    def _show(self) -> None:
        if self.shared is not None:
            self.label.setText(self.shared.status())
            self.label.setToolTip(f"Other tools reach the model at {self.shared.url} (any API key)")
            self.label.setVisible(True)
        elif self.problem:
            self.label.setText("Not shared")
            self.label.setToolTip(self.problem)
            self.label.setVisible(True)
        else:
            self.label.setVisible(False)

    def stop(self) -> None:
        shared, self.shared = self.shared, None
        if shared is not None:
            shared.stop()
