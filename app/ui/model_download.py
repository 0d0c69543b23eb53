"""Getting the local model onto the disk from the settings dialog: where it goes, how much room there is, the
download with its byte progress, and Cancel.

The work is ``glmv_local.download.resolve`` on a worker, the same path loading takes, so a model fetched here is
found there, and a folder is checked exactly as loading would check it. Cancel takes effect at the next chunk:
the progress callback raises, huggingface_hub stops, and the partial files stay in the cache for the next try to
resume from.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.core.errors import AppError
from app.ui.workers import Tasks

# GLM-4.6V-Flash in bf16 safetensors, as the Hub lists it; other models are sized by the download itself.
KNOWN_SIZES = {"zai-org/GLM-4.6V-Flash": 20.6e9}


class DownloadCancelled(AppError):
    """The person pressed Cancel; what arrived stays in the cache."""

    kind = "cancelled"


def fetch(model: str, report: Callable[[Any], None], cancel: threading.Event) -> Path:
    """The verified checkpoint folder for ``model``: a folder checked, a Hub id found in the cache or downloaded."""
    from glmv_local import download

    def forward(progress: Any) -> None:
        if cancel.is_set():
            raise DownloadCancelled("the download was cancelled")
        report(progress)

    if cancel.is_set():
        raise DownloadCancelled("the download was cancelled")
    return Path(download.resolve(model, progress=forward).path)


def disk_note(model: str) -> str:
    """Where a download of ``model`` goes and how much room is there (runs on a worker: it touches the disk)."""
    from glmv_local import download

    if download.is_local(model):
        return "A folder is used as it is: Check verifies that its weights are complete."
    cache = download.cache_dir()
    probe = cache
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    note = f"Downloads go to {cache} ({free / 1e9:.1f} GB free)."
    size = KNOWN_SIZES.get(model)
    if size:
        spare = download.DISK_MARGIN
        note += f" {model} needs about {size / 1e9:.1f} GB"
        note += "." if free >= size + spare else f": not enough room; free {(size + spare - free) / 1e9:.1f} GB more."
    if download.offline():
        note += " Offline mode is on (HF_HUB_OFFLINE): only models already in the cache can be used."
    return note


class ModelDownloadPanel(QWidget):
    """Download (or check) button, progress in bytes, Cancel, and what happened."""

    def __init__(self, tasks: Tasks, model: Callable[[], str]) -> None:
        super().__init__()
        self.tasks = tasks
        self.model = model
        self.cancel_event: threading.Event | None = None
        self.result: Path | None = None
        self.where = QLabel("")
        self.where.setObjectName("downloadWhere")
        self.where.setWordWrap(True)
        self.download = QPushButton("Download")
        self.download.setObjectName("download")
        self.download.setToolTip("Fetch the model into the Hugging Face cache now (it resumes if interrupted)")
        self.download.clicked.connect(self.start)
        self.cancel = QPushButton("Cancel download")
        self.cancel.setObjectName("cancelDownload")
        self.cancel.setVisible(False)
        self.cancel.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setObjectName("downloadProgress")
        self.progress.setAccessibleName("download progress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setObjectName("downloadResult")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.download)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.where)
        self.refresh()

    @property
    def busy(self) -> bool:
        return self.cancel_event is not None

    def refresh(self) -> None:
        """Say where the model goes and whether it fits, for the model now typed in."""
        from glmv_local import download

        model = self.model()
        self.download.setText("Check folder" if download.is_local(model) else "Download")
        self.tasks.run(lambda: disk_note(model), self._where, lambda e: self._where(str(e)), name="disk-note")

    def _where(self, text: object) -> None:
        self.where.setText(str(text))
        self._grow()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self._grow()

    def _grow(self) -> None:
        """Text that arrives after the dialog was laid out gets room instead of being squeezed or cut."""
        top = self.window()
        if top is self:
            return
        layout = top.layout()
        if layout is not None:
            layout.activate()
        needed = top.sizeHint().height()
        if top.height() < needed:
            top.resize(top.width(), needed)

    def start(self) -> None:
        if self.busy:
            return
        model = self.model()
        if not model:
            self._say("Type a model id (like zai-org/GLM-4.6V-Flash) or choose a folder first.")
            return
        cancel = self.cancel_event = threading.Event()
        self.result = None
        self.download.setEnabled(False)
        self.cancel.setVisible(True)
        self.cancel.setEnabled(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self._say(f"Looking for {model}…")
        self.tasks.run_reporting(
            lambda report: fetch(model, report, cancel),
            lambda p: self._progress(cancel, p),
            lambda path: self._done(cancel, path),
            lambda e: self._failed(cancel, e),
            name="download-model",
        )

    def stop(self) -> None:
        if self.cancel_event is not None:
            self.cancel_event.set()
            self.cancel.setEnabled(False)
            self._say("Cancelling…")

    def _progress(self, cancel: threading.Event, p: Any) -> None:
        if cancel is not self.cancel_event or cancel.is_set():
            return
        done, total = int(getattr(p, "done", 0)), int(getattr(p, "total", 0))
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(min(1000, done * 1000 // total))
            self._say(f"Downloading: {done / 1e9:.2f} of {total / 1e9:.2f} GB")

    def _finish(self) -> None:
        self.cancel_event = None
        self.download.setEnabled(True)
        self.cancel.setVisible(False)

    def _done(self, cancel: threading.Event, path: object) -> None:
        if cancel is not self.cancel_event:
            return
        self._finish()
        self.result = Path(str(path))
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000)
        self._say(f"Ready: the complete model is at {self.result}")

    def _failed(self, cancel: threading.Event, error: BaseException) -> None:
        if cancel is not self.cancel_event:
            return
        self._finish()
        self.progress.setVisible(False)
        if isinstance(error, DownloadCancelled):
            self._say("Download cancelled. What arrived is kept; Download again resumes from there.")
        else:
            self._say(str(error))
