"""The local model loads as soon as it is chosen, on a worker, with its progress in the status bar: the first
question then does not wait for gigabytes of weights (a question asked meanwhile waits for the load)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from app.core.backends.base import Backend, InProcessBackend
from app.core.backends.factory import is_local
from app.core.backends.status import model_label
from app.ui.workers import Tasks

if TYPE_CHECKING:
    from glmv_local.loader import LoadProgress


class ModelLoading(QObject):
    ready = Signal()  # the model is loaded: the status line and the attachments' estimates follow it
    failed = Signal(str)  # why it did not load

    def __init__(self, tasks: Tasks, bar: QProgressBar, status: QLabel, status_bar: QStatusBar) -> None:
        super().__init__(bar)
        self.tasks = tasks
        self.bar = bar
        self.status = status
        self.status_bar = status_bar
        self.loading: InProcessBackend | None = None

    def load(self, backend: Backend | None) -> None:
        """Starts loading ``backend`` when it is a local model not loaded yet nor loading."""
        if not is_local(backend) or backend.engine.is_loaded or self.loading is backend:
            return
        self.loading = backend
        self.bar.setRange(0, 0)
        self.bar.setVisible(True)
        self.status.setText(f"Local · {model_label(backend.model)} · loading…")

        def progress(p: LoadProgress) -> None:
            if self.loading is not backend:
                return
            if p.total > 0:
                self.bar.setRange(0, 1000)
                self.bar.setValue(min(1000, p.done * 1000 // p.total))
            else:
                self.bar.setRange(0, 0)
            message = p.message or "Loading the model"
            if p.stage == "download" and p.total:
                message += f": {p.done / 1e9:.1f} of {p.total / 1e9:.1f} GB"
            self.status_bar.showMessage(message)

        def loaded(_: object) -> None:
            if self.loading is not backend:
                return
            self._stop()
            warnings = backend.engine.loaded.warnings if backend.engine.loaded is not None else []
            self.status_bar.showMessage(warnings[0] if warnings else "Model ready.", 15000 if warnings else 4000)
            self.ready.emit()

        def failed(error: BaseException) -> None:
            if self.loading is not backend:
                return
            self._stop()
            self.status_bar.clearMessage()
            self.failed.emit(f"The local model did not load: {error}")

        self.tasks.run_reporting(
            backend.load, progress, loaded, failed, name="load-model", step=lambda p: (p.stage, p.message)
        )

    def unload(self, backend: Backend | None) -> None:
        """Frees an old local model's memory; the unload waits for an answer it is still writing."""
        if not is_local(backend):
            return
        if self.loading is backend:
            self._stop()
        self.tasks.run(backend.unload, name="unload-model")

    def _stop(self) -> None:
        self.loading = None
        self.bar.setVisible(False)
