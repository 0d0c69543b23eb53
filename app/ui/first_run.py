"""The welcome on the first start: what this computer can do, the two ways to run the model, and what leaves the
machine with each, so that the first choice is an informed one rather than a settings page to puzzle over.

Shown when there is no settings file yet. The machine is looked at on a worker (nvidia-smi, sysctl: no torch
import), the local choice reuses the settings dialog's download panel (disk check, byte progress, Cancel, resume),
and the result is a plain ``Settings``: the caller saves it and builds the window from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core import hardware
from app.core import settings as settings_io
from app.core.secrets import KeyVault
from app.core.settings import Settings
from app.ui.model_download import KNOWN_SIZES, ModelDownloadPanel
from app.ui.workers import Tasks

FLASH = "zai-org/GLM-4.6V-Flash"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0")
LOCAL_PRIVACY = (
    "Nothing leaves this computer: the model runs here, and your questions, files, screenshots and recordings "
    "stay on this machine. Only the one-time model download from huggingface.co uses the network."
)


def needed(path: Path | None = None) -> bool:
    """True on the first start: no settings file has been saved yet."""
    return not (Path(path) if path is not None else settings_io.default_path()).exists()


@dataclass(frozen=True)
class Machine:
    """What the welcome needs to know about this computer."""

    gpus: tuple[hardware.Gpu, ...]
    fit: hardware.LocalFit
    engine: bool
    memory: int | None

    def describe(self) -> str:
        parts = [g.describe() for g in self.gpus] or ["no NVIDIA or Apple GPU found"]
        if self.memory:
            parts.append(f"{self.memory / hardware.GIB:.0f} GiB of memory")
        return "This computer: " + ", ".join(parts) + "."


def detect() -> Machine:
    """Looks at the GPUs and memory (a second or so: run it on a worker)."""
    gpus = tuple(hardware.find_gpus())
    return Machine(gpus, hardware.local_fit(list(gpus)), hardware.engine_installed(), hardware.system_memory())


def privacy_note(preset_name: str, base_url: str = "") -> str:
    """What an API choice sends where, in a sentence a person can act on."""
    from app.core.backends.dialects import PRESETS, host_of

    preset = PRESETS[preset_name]
    url = base_url.strip() or preset.base_url
    try:
        host = host_of(url)
    except ValueError:
        host = url
    what = "your questions, their attachments (files, document pages, video frames) and screenshots"
    if host.split(":")[0] in LOCAL_HOSTS:
        return f"Sent to the server on this computer ({host}): {what} go no further than that server."
    if preset.needs_key:
        return (
            f"Sent to {host} ({preset.label}): {what} are uploaded there and handled under that provider's terms. "
            "Nothing else on this computer is read."
        )
    return f"Sent to the server at {host}: {what} go to that machine and whoever runs it."


def apply(settings: Settings, changes: dict[str, Any]) -> Settings:
    return dataclasses.replace(settings, **changes, warnings=[])


class FirstRunDialog(QDialog):
    """Two choices, the local model and a server; ``changes()`` is what was chosen, ``result_settings()`` the
    settings with it applied (an API key typed here goes to the vault, never into the settings)."""

    def __init__(
        self,
        settings: Settings,
        vault: KeyVault,
        tasks: Tasks,
        parent: QWidget | None = None,
        *,
        machine: Machine | None = None,
        model: str = FLASH,
    ) -> None:
        super().__init__(parent)
        from app.core.backends.dialects import PRESETS

        self.setWindowTitle("Welcome to GLM-V")
        self.setObjectName("firstRun")
        self.settings = settings
        self.vault = vault
        self.tasks = tasks
        self.model = model
        self.machine: Machine | None = None
        self.key_saved_to: str | None = None

        heading = QLabel("<h2>Welcome to GLM-V</h2>")
        intro = QLabel(
            "Ask a vision-language model about what is on your screen, in a PDF, slides or a video. "
            "Choose where the model runs; you can change it any time in Settings."
        )
        intro.setWordWrap(True)
        self.machine_label = QLabel("Looking at this computer…")
        self.machine_label.setObjectName("machine")
        self.machine_label.setWordWrap(True)

        self.local_choice = QRadioButton(f"Run {model.split('/')[-1]} on this computer")
        self.local_choice.setObjectName("chooseLocal")
        self.local_detail = QLabel("")
        self.local_detail.setObjectName("localDetail")
        self.local_detail.setWordWrap(True)
        size = KNOWN_SIZES.get(model)
        download_note = QLabel(
            (f"A one-time download of about {size / 1e9:.1f} GB. " if size else "A one-time download. ")
            + "It resumes where it stopped if interrupted; you may also start now and let it finish while the "
            "model loads."
        )
        download_note.setWordWrap(True)
        self.local_privacy = QLabel(LOCAL_PRIVACY)
        self.local_privacy.setObjectName("localPrivacy")
        self.local_privacy.setWordWrap(True)
        self.download = ModelDownloadPanel(tasks, lambda: self.model)
        local_box = QWidget()
        local_layout = QVBoxLayout(local_box)
        local_layout.setContentsMargins(24, 0, 0, 0)
        for widget in (self.local_detail, download_note, self.download, self.local_privacy):
            local_layout.addWidget(widget)
        self.local_box = local_box

        self.api_choice = QRadioButton("Use a GLM-V server (API): Z.ai, BigModel, or your own vLLM/SGLang/llama.cpp")
        self.api_choice.setObjectName("chooseApi")
        self.preset = QComboBox()
        self.preset.setObjectName("preset")
        for preset in PRESETS.values():
            self.preset.addItem(preset.label, preset.name)
        index = self.preset.findData(settings.preset)
        self.preset.setCurrentIndex(max(0, index))
        self.base_url = QLineEdit(settings.base_url)
        self.base_url.setObjectName("baseUrl")
        self.key = QLineEdit()
        self.key.setObjectName("apiKey")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_where = QLabel("")
        self.key_where.setWordWrap(True)
        self.api_privacy = QLabel("")
        self.api_privacy.setObjectName("apiPrivacy")
        self.api_privacy.setWordWrap(True)
        api_box = QWidget()
        form = QFormLayout(api_box)
        form.setContentsMargins(24, 0, 0, 0)
        form.addRow("Server", self.preset)
        form.addRow("Address", self.base_url)
        form.addRow("API key", self.key)
        form.addRow("", self.key_where)
        form.addRow(self.api_privacy)
        self.api_box = api_box

        self.choice = QButtonGroup(self)
        self.choice.addButton(self.local_choice)
        self.choice.addButton(self.api_choice)
        self.api_choice.setChecked(True)
        self.choice.buttonToggled.connect(self._choice_changed)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.base_url.textChanged.connect(self._update_privacy)

        buttons = QDialogButtonBox()
        self.start = buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start.setObjectName("start")
        self.start.setDefault(True)
        later = buttons.addButton("Decide later", QDialogButtonBox.ButtonRole.RejectRole)
        later.setObjectName("later")
        later.setToolTip("Open the window with the defaults; this welcome appears again next time")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        for part in (heading, intro, self.machine_label, self.local_choice, local_box, self.api_choice, api_box):
            layout.addWidget(part)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self._preset_changed()
        self._choice_changed()
        self.resize(620, self.sizeHint().height())
        if machine is not None:
            self._detected(machine)
        else:
            self.tasks.run(detect, self._detected, self._detect_failed, name="first-run-detect")

    # -- what the machine can do -----------------------------------------------------------------------------

    def _detected(self, machine: object) -> None:
        assert isinstance(machine, Machine)
        self.machine = machine
        self.machine_label.setText(machine.describe())
        if not machine.engine:
            self.local_choice.setEnabled(False)
            self.local_detail.setText(
                "This is the API-only install: it has no local engine (torch, transformers). Install the "
                "local-engine bundle, or from source run GLMV_LOCAL=1 scripts/setup."
            )
            self.api_choice.setChecked(True)
        elif machine.fit.recommended:
            self.local_detail.setText("Recommended here. " + machine.fit.reason)
            self.local_choice.setChecked(True)
        else:
            self.local_detail.setText("Not recommended here: " + machine.fit.reason + " A server is the better choice.")
            self.api_choice.setChecked(True)
        self._choice_changed()

    def _detect_failed(self, error: BaseException) -> None:
        self.machine_label.setText(f"Could not look at this computer's GPU ({error}).")
        self._detected(Machine((), hardware.local_fit([]), hardware.engine_installed(), None))

    # -- the API choice --------------------------------------------------------------------------------------

    def _preset_name(self) -> str:
        return str(self.preset.currentData())

    def _preset_changed(self, *_: object) -> None:
        from app.core.backends.dialects import PRESETS

        preset = PRESETS[self._preset_name()]
        self.base_url.setPlaceholderText(preset.base_url)
        self.key.setPlaceholderText("required" if preset.needs_key else "optional (if the server asks for one)")
        self.key_where.setText(self.vault.where(preset.name, self.base_url.text().strip() or None))
        self._update_privacy()

    def _update_privacy(self, *_: object) -> None:
        self.api_privacy.setText(privacy_note(self._preset_name(), self.base_url.text()))

    def _choice_changed(self, *_: object) -> None:
        local = self.local_choice.isChecked()
        self.local_box.setEnabled(local)
        self.api_box.setEnabled(not local)

    # -- the result ------------------------------------------------------------------------------------------

    def changes(self) -> dict[str, Any]:
        if self.local_choice.isChecked():
            four_bit = self.machine is not None and self.machine.fit.mode == "4bit"
            return {
                "backend": "local",
                "local_model": self.model,
                "local_folder": "",
                "quantization": "4bit" if four_bit else "none",
            }
        return {"backend": "api", "preset": self._preset_name(), "base_url": self.base_url.text().strip(), "model": ""}

    def accept(self) -> None:
        key = self.key.text().strip()
        if self.api_choice.isChecked() and key:
            from app.core import logs

            logs.remember_secret(key)
            self.key_saved_to = self.vault.set(self._preset_name(), key, self.base_url.text().strip() or None)
        super().accept()

    def done(self, result: int) -> None:
        # A download in flight stops here and resumes when the local model loads (or from Settings).
        self.download.stop()
        super().done(result)

    def result_settings(self) -> Settings:
        return apply(self.settings, self.changes())


def run_first_start(
    settings: Settings, vault: KeyVault, tasks: Tasks, parent: QWidget | None = None, path: Path | None = None
) -> Settings | None:
    """Show the welcome; on Start save and return the chosen settings, on "Decide later" return None (nothing is
    saved, so the welcome comes again on the next start)."""
    dialog = FirstRunDialog(settings, vault, tasks, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    chosen = dialog.result_settings()
    settings_io.save(chosen, path)
    return chosen
