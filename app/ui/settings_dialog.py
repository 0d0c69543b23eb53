"""The settings dialog: which backend answers, its key, and how it generates; capture and global shortcuts;
light or dark.

The key goes to the key vault (OS keyring, or the announced file fallback), never into the settings file; the
dialog says where it is kept. Test connection asks the server for its models on a worker. The local section
downloads (or checks) the model with byte progress and Cancel before the window loads it. Shortcuts are saved
as their differences from the platform's defaults, and not at all while two actions share keys; where the app
cannot listen to the keyboard, the dialog gives the command to bind in the desktop's own shortcut settings.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.backends.factory import BackendUnavailable, check_connection
from app.core.secrets import KeyVault
from app.core.settings import LIMITS, QUANTIZATIONS, THEMES, Settings
from app.ui.hotkeys import LABELS
from app.ui.model_choice import ModelChoice
from app.ui.model_download import ModelDownloadPanel
from app.ui.quick_actions_editor import QuickActionsEditor
from app.ui.sharing import ShareField
from app.ui.shell import DesktopShell
from app.ui.shortcut_edit import DesktopCommands, ShortcutsEditor
from app.ui.workers import Tasks

THEME_LABELS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}


def _presets() -> dict:
    from app.core.backends.dialects import PRESETS

    return PRESETS


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, vault: KeyVault, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.settings = settings
        self.vault = vault
        self.tasks = tasks
        self.key_saved_to: str | None = None
        self._paused_hotkeys = False

        self.backend = QComboBox()
        self.backend.addItem("API server (cloud or self-hosted)", "api")
        self.backend.addItem("Local model on this computer", "local")
        self.backend.setCurrentIndex(0 if settings.backend == "api" else 1)

        # API page
        self.preset = QComboBox()
        for preset in _presets().values():
            self.preset.addItem(preset.label, preset.name)
        index = self.preset.findData(settings.preset)
        self.preset.setCurrentIndex(max(index, 0))
        self.base_url = QLineEdit(settings.base_url)
        self.model = ModelChoice(tasks, settings.model)
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setObjectName("apiKey")
        self.key_where = QLabel()
        self.key_where.setWordWrap(True)
        self.key_where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test = QPushButton("Test connection")
        self.test.setObjectName("testConnection")
        self.test_result = QLabel("")
        self.test_result.setWordWrap(True)
        self.test_result.setObjectName("testResult")
        self.test.clicked.connect(self._test)
        self.answer_timeout = QSpinBox()
        self.answer_timeout.setObjectName("answerTimeout")
        self.answer_timeout.setRange(*(int(v) for v in LIMITS["answer_timeout"]))
        self.answer_timeout.setSuffix(" s")
        self.answer_timeout.setValue(settings.answer_timeout)
        self.answer_timeout.setToolTip(
            "An answer is given up when the server sends no thinking or answer text for this long, even if it "
            "keeps the connection open with keep-alive messages."
        )
        self.preset.currentIndexChanged.connect(self._preset_changed)
        api = QWidget()
        api_form = QFormLayout(api)
        api_form.addRow("Server", self.preset)
        api_form.addRow("Base URL", self.base_url)
        api_form.addRow("Model", self.model)
        api_form.addRow("API key", self.key)
        api_form.addRow("", self.key_where)
        api_form.addRow("Answer time limit", self.answer_timeout)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test)
        test_row.addWidget(self.test_result, 1)
        api_form.addRow(test_row)

        # Local page
        self.local_model = QLineEdit(settings.local_model)
        self.local_model.setObjectName("localModel")
        self.local_model.setPlaceholderText("a Hugging Face id, like zai-org/GLM-4.6V-Flash")
        self.local_folder = QLineEdit(settings.local_folder)
        self.local_folder.setObjectName("localFolder")
        self.local_folder.setPlaceholderText("a folder with the model's files (used instead of the id)")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.local_folder, 1)
        folder_row.addWidget(browse)
        self.quantization = QComboBox()
        for q in QUANTIZATIONS:
            self.quantization.addItem({"none": "None (bf16)", "8bit": "8-bit", "4bit": "4-bit"}[q], q)
        self.quantization.setCurrentIndex(max(self.quantization.findData(settings.quantization), 0))
        self.quantization.setToolTip(
            "4-bit and 8-bit (bitsandbytes, CUDA only) need about a third / a half of the GPU memory; "
            "the vision tower stays in bf16"
        )
        self.download = ModelDownloadPanel(tasks, self.local_choice)
        self._model_changed = QTimer(self)
        self._model_changed.setSingleShot(True)
        self._model_changed.setInterval(400)
        self._model_changed.timeout.connect(self.download.refresh)
        self.local_model.textChanged.connect(self._model_changed.start)
        self.local_folder.textChanged.connect(self._model_changed.start)
        local = QWidget()
        local_form = QFormLayout(local)
        local_form.addRow("Model id", self.local_model)
        local_form.addRow("Or a folder", folder_row)
        local_form.addRow("", self.download)
        local_form.addRow("Quantization", self.quantization)
        self.share = ShareField(settings)  # app.ui.sharing (issue 18)
        local_form.addRow("Sharing", self.share)
        note = QLabel(
            "The model loads when you save and stays in memory; the status bar shows its progress, the device "
            "and the GPU memory in use. GLM-4.6V-Flash needs a GPU with about 24 GB (4-bit: about 10 GB)."
        )
        note.setWordWrap(True)
        note.setObjectName("localNote")
        local_form.addRow(note)

        self.pages = QStackedWidget()
        self.pages.addWidget(api)
        self.pages.addWidget(local)
        self.backend.currentIndexChanged.connect(self._show_page)
        self._show_page(self.backend.currentIndex())

        # Generation
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(*LIMITS["temperature"])
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(settings.temperature)
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(*LIMITS["top_p"])
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(settings.top_p)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(*(int(v) for v in LIMITS["max_tokens"]))
        self.max_tokens.setSingleStep(1024)
        self.max_tokens.setValue(settings.max_tokens)
        self.thinking = QCheckBox("Let the model think before answering")
        self.thinking.setChecked(settings.thinking)
        self.history_turns = QSpinBox()
        self.history_turns.setRange(*(int(v) for v in LIMITS["history_turns"]))
        self.history_turns.setValue(settings.history_turns)
        self.system_prompt = QPlainTextEdit(settings.system_prompt)
        self.system_prompt.setPlaceholderText("Optional instructions sent before every conversation")
        self.system_prompt.setFixedHeight(70)
        self.collapsed = QCheckBox("Start with the thinking pane collapsed")
        self.collapsed.setChecked(settings.thinking_collapsed)
        generation = QGroupBox("Generation")
        gen_form = QFormLayout(generation)
        gen_form.addRow("Temperature", self.temperature)
        gen_form.addRow("Top p", self.top_p)
        gen_form.addRow("Max tokens", self.max_tokens)
        gen_form.addRow("", self.thinking)
        gen_form.addRow("Past turns sent", self.history_turns)
        gen_form.addRow("System prompt", self.system_prompt)
        gen_form.addRow("", self.collapsed)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_problem = QLabel("")
        self.save_problem.setObjectName("saveProblem")
        self.save_problem.setWordWrap(True)
        model_tab = QWidget()
        model_layout = QVBoxLayout(model_tab)
        top = QFormLayout()
        top.addRow("Backend", self.backend)
        model_layout.addLayout(top)
        model_layout.addWidget(self.pages)
        model_layout.addWidget(generation)
        model_layout.addStretch(1)
        self.capture_tab = self._capture_tab(settings)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settingsTabs")
        self.tabs.addTab(model_tab, "Model")
        self.tabs.addTab(self.capture_tab, "Capture and shortcuts")
        self.quick_actions = QuickActionsEditor(settings.actions(), settings.translate_language)
        self.quick_actions.setObjectName("quickActionsTab")
        self.tabs.addTab(self.quick_actions, "Quick actions")
        self.tabs.addTab(self._appearance_tab(settings), "Appearance")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.save_problem)
        layout.addWidget(buttons)
        self._preset_changed(initial=True)
        self.resize(max(720, self.sizeHint().width()), self.sizeHint().height())

    # ------------------------------------------------------------------------------------------ capture tab

    def _capture_tab(self, settings: Settings) -> QWidget:
        self.hotkey_status = QLabel("")
        self.hotkey_status.setObjectName("hotkeyStatus")
        self.hotkey_status.setWordWrap(True)
        self.hotkey_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.shortcuts = ShortcutsEditor(settings.shortcuts)
        self.restore_shortcuts = QPushButton("Restore defaults")
        self.restore_shortcuts.setObjectName("restoreShortcuts")
        self.restore_shortcuts.clicked.connect(self.shortcuts.restore_defaults)
        self.desktop_commands = DesktopCommands()
        self.desktop_commands.setObjectName("desktopCommands")
        self.show_commands = QCheckBox("Show the commands to bind in the desktop's own shortcut settings")
        self.show_commands.setObjectName("showCommands")
        self.show_commands.toggled.connect(self.desktop_commands.setVisible)
        status, needs_commands = self._hotkey_state()
        self.hotkey_status.setText(status)
        self.show_commands.setChecked(needs_commands)
        self.show_commands.setVisible(not needs_commands)
        self.desktop_commands.setVisible(needs_commands)
        self.shortcuts.changed.connect(self._shortcuts_changed)
        self._shortcuts_changed()

        keys = QGroupBox("Global shortcuts")
        keys_layout = QVBoxLayout(keys)
        keys_layout.addWidget(self.hotkey_status)
        keys_layout.addWidget(self.shortcuts)
        restore_row = QHBoxLayout()
        restore_row.addStretch(1)
        restore_row.addWidget(self.restore_shortcuts)
        keys_layout.addLayout(restore_row)
        keys_layout.addWidget(self.show_commands)
        keys_layout.addWidget(self.desktop_commands)

        self.capture_fps = QSpinBox()
        self.capture_fps.setObjectName("captureFps")
        self.capture_fps.setRange(*(int(v) for v in LIMITS["capture_fps"]))
        self.capture_fps.setSuffix(" fps")
        self.capture_fps.setValue(settings.capture_fps)
        self.capture_fps.setToolTip("Frames per second of screen recordings; 10 is plenty for a model to follow")
        self.record_max = QSpinBox()
        self.record_max.setObjectName("recordMaxSeconds")
        self.record_max.setRange(*(int(v) for v in LIMITS["record_max_seconds"]))
        self.record_max.setSuffix(" s")
        self.record_max.setValue(settings.record_max_seconds)
        self.record_max.setToolTip("A recording stops by itself after this long")
        self.close_to_tray = QCheckBox("Keep running in the tray when the window is closed")
        self.close_to_tray.setObjectName("closeToTray")
        self.close_to_tray.setChecked(settings.close_to_tray)
        capture = QGroupBox("Capture")
        capture_form = QFormLayout(capture)
        capture_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        capture_form.addRow("Recording frame rate", self.capture_fps)
        capture_form.addRow("Longest recording", self.record_max)
        capture_form.addRow("", self.close_to_tray)

        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(keys)
        layout.addWidget(capture)
        layout.addStretch(1)
        return tab

    def _hotkey_state(self) -> tuple[str, bool]:
        """What the running hotkeys do, in words, and whether the desktop's own shortcuts are needed instead.

        The desktop shell of the window (if any) is found by name, so the dialog works without one (tests)."""
        shell = self._shell()
        bind = "Bind the commands below in the desktop's own shortcut settings instead."
        if shell is not None and shell.hotkeys is not None:
            hotkeys = shell.hotkeys
            provider = hotkeys.provider
            if provider is not None and provider.name == "pynput":
                return "Global shortcuts are on: they work while any application has the focus.", False
            if provider is not None:
                reasons = "; ".join(hotkeys.status.split("; ")[1:])
                because = f" ({reasons})" if reasons else ""
                return f"Global shortcuts cannot be heard by the app here{because}. {bind}", True
            return f"{shell.hotkey_status or 'Global shortcuts are off.'} {bind}", True
        from app.ui.hotkeys import PynputProvider

        problem = PynputProvider().problem()
        if problem is not None:
            return f"Global shortcuts cannot be heard by the app here ({problem}). {bind}", True
        return "Global shortcuts are not running in this window; they start with the app.", False

    def _shell(self) -> DesktopShell | None:
        parent = self.parentWidget()
        shell = parent.findChild(QObject, "desktopShell") if parent is not None else None
        return shell if isinstance(shell, DesktopShell) else None

    def showEvent(self, event: QShowEvent) -> None:
        """Global hotkeys pause while the dialog is open: pressing the current keys to record new ones must not
        also take a screenshot. Cancel starts them again; Save restarts them with the new keys (the shell does,
        on the window's ``settings_applied``)."""
        super().showEvent(event)
        shell = self._shell()
        hotkeys = shell.hotkeys if shell is not None else None
        if hotkeys is not None and hotkeys.provider is not None:
            hotkeys.stop()
            self._paused_hotkeys = True

    def _shortcuts_changed(self) -> None:
        self.desktop_commands.show_bindings(self.shortcuts.bindings())
        if not self.shortcuts.problems():
            self.save_problem.clear()

    # ------------------------------------------------------------------------------------------ appearance tab

    def _appearance_tab(self, settings: Settings) -> QWidget:
        self.theme = QComboBox()
        self.theme.setObjectName("theme")
        for name in THEMES:
            self.theme.addItem(THEME_LABELS[name], name)
        self.theme.setCurrentIndex(max(self.theme.findData(settings.theme), 0))
        note = QLabel("“Follow the system” switches between light and dark when the desktop does.")
        note.setObjectName("themeNote")
        note.setWordWrap(True)
        tab = QWidget()
        form = QFormLayout(tab)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("Theme", self.theme)
        form.addRow("", note)
        return tab

    def accept(self) -> None:
        """Save, unless two shortcuts share keys or one cannot be used: then the message says which."""
        problems = self.shortcuts.problems()
        if problems:
            action, message = next(iter(problems.items()))
            self.save_problem.setText(f"Not saved: the shortcut for “{LABELS[action]}”: {message}")
            self.tabs.setCurrentWidget(self.capture_tab)
            self.shortcuts.edits[action].setFocus()
            return
        problem = self.quick_actions.problems(self.shortcuts.bindings())
        if problem is not None:
            self.save_problem.setText(f"Not saved: {problem}.")
            self.tabs.setCurrentWidget(self.quick_actions)
            return
        super().accept()

    def _show_page(self, index: int) -> None:
        """Only the page shown takes room: the API page is not stretched to the local page's height."""
        self.pages.setCurrentIndex(index)
        for i in range(self.pages.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            page = self.pages.widget(i)
            assert page is not None  # i < count()
            page.setSizePolicy(policy, policy)
        self.pages.updateGeometry()

    def _preset(self):
        return _presets()[self.preset.currentData()]

    def _preset_changed(self, *_: object, initial: bool = False) -> None:
        preset = self._preset()
        self.base_url.setPlaceholderText(preset.base_url)
        self.model.setPlaceholderText(preset.default_model or "first model the server lists")
        if not initial:
            self.base_url.clear()
            self.model.clear()
        self.key.clear()
        base_url = self.base_url.text().strip() or None
        has_key = bool(self.vault.get(preset.name, base_url))
        self.key.setPlaceholderText(
            "a key is saved (type to replace it)" if has_key else ("required" if preset.needs_key else "optional")
        )
        self.key_where.setText(self.vault.where(preset.name, base_url))
        self.test_result.clear()
        self._offer_models()

    def _offer_models(self) -> None:
        """The models the preset offers: the known ones now, the server's own once it answers (a cloud is not
        asked without a key)."""
        preset = self._preset()
        base_url = self.base_url.text().strip() or None
        key = self.key.text().strip() or self.vault.get(preset.name, base_url)
        self.model.offer(preset.name, None)
        if key or not preset.needs_key:
            self.model.ask_server(preset.name, base_url or preset.base_url, key)

    def local_choice(self) -> str:
        """The folder when one is given, else the model id: what the local backend will load."""
        return self.local_folder.text().strip() or self.local_model.text().strip()

    def done(self, result: int) -> None:
        # Closing the dialog stops a download in flight; what arrived stays in the cache.
        self.download.stop()
        super().done(result)
        shell = self._shell()
        if self._paused_hotkeys and result != QDialog.DialogCode.Accepted and shell is not None:
            shell.start_hotkeys()
        self._paused_hotkeys = False

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with the model files")
        if folder:
            self.local_folder.setText(folder)

    def _test(self) -> None:
        preset = self._preset()
        base_url = self.base_url.text().strip() or preset.base_url
        key = self.key.text().strip() or self.vault.get(preset.name, self.base_url.text().strip() or None)
        self.test.setEnabled(False)
        self.test_result.setText("Connecting…")

        def done(message: object) -> None:
            self.test.setEnabled(True)
            self.test_result.setText(str(message))
            self._offer_models()

        def failed(error: BaseException) -> None:
            self.test.setEnabled(True)
            text = str(error) if isinstance(error, BackendUnavailable) else f"Failed: {error}"
            self.test_result.setText(text)
            self._offer_models()

        self.tasks.run(lambda: check_connection(base_url, key), done, failed, name="test-connection")

    def result_settings(self) -> Settings:
        """The settings as chosen; the key is saved to the vault here (never into the settings)."""
        preset = self._preset()
        base_url = self.base_url.text().strip()
        key = self.key.text().strip()
        if key:
            self.key_saved_to = self.vault.set(preset.name, key, base_url or None)
        return dataclasses.replace(
            self.settings,
            backend=self.backend.currentData(),
            preset=preset.name,
            base_url=base_url,
            model=self.model.text().strip(),
            local_model=self.local_model.text().strip() or self.settings.local_model,
            local_folder=self.local_folder.text().strip(),
            quantization=self.quantization.currentData(),
            temperature=round(self.temperature.value(), 3),
            top_p=round(self.top_p.value(), 3),
            max_tokens=self.max_tokens.value(),
            thinking=self.thinking.isChecked(),
            history_turns=self.history_turns.value(),
            answer_timeout=self.answer_timeout.value(),
            system_prompt=self.system_prompt.toPlainText().strip(),
            thinking_collapsed=self.collapsed.isChecked(),
            theme=self.theme.currentData(),
            shortcuts=self.shortcuts.changes(),
            capture_fps=self.capture_fps.value(),
            record_max_seconds=self.record_max.value(),
            close_to_tray=self.close_to_tray.isChecked(),
            **self.share.values(),
            quick_actions=[action.to_dict() for action in self.quick_actions.chosen()],
            translate_language=self.quick_actions.translate_language(),
            warnings=[],
        )
