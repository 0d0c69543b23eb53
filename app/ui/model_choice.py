"""The settings' model field: typed like any text field, with the models the preset offers to pick from
(``backends.models.offered_models``): the server's own list, asked on a worker when the dialog opens, the
preset changes or Test connection answers, and the known vision models of the clouds until then (or when the
server does not answer)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from app.core.backends.models import list_models, offered_models
from app.ui.workers import Tasks


class ModelChoice(QComboBox):
    def __init__(self, tasks: Tasks, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("model")
        self.setAccessibleName("model")
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.tasks = tasks
        self.preset = ""
        self.source = ""  # where the offered models came from, in words: "the server" or "the known models"
        self._asked = 0
        self.setText(text)

    # The text-field side, as the dialog uses it.

    def text(self) -> str:
        return self.currentText()

    def setText(self, text: str) -> None:
        self.setEditText(text)

    def clear(self) -> None:
        self.setEditText("")

    def setPlaceholderText(self, text: str) -> None:
        edit = self.lineEdit()
        if edit is not None:
            edit.setPlaceholderText(text)

    def placeholderText(self) -> str:
        edit = self.lineEdit()
        return edit.placeholderText() if edit is not None else ""

    # The offered models.

    def offer(self, preset: str, listed: list[str] | None) -> None:
        """The models for ``preset`` from the server's ``listed`` ones (None: the server was not heard)."""
        self.preset = preset
        typed = self.text()
        models = offered_models(preset, listed)
        self.blockSignals(True)
        super().clear()
        self.addItems(models)
        self.setEditText(typed)
        self.blockSignals(False)
        self.source = "the server" if listed is not None and models else "the known models"
        self.setToolTip(
            f"Type a model, or pick one of {self.source}" + (f" ({len(models)})" if models else "")
            if models
            else "Type the model's name, or leave it empty for the first one the server lists"
        )

    def ask_server(self, preset: str, base_url: str, api_key: str | None) -> None:
        """Asks the server for its models on a worker; what it lists replaces what is offered (an answer to an
        earlier question, for another preset or address, is dropped)."""
        self._asked += 1
        asked = self._asked

        def answered(models: object) -> None:
            if asked == self._asked and isinstance(models, list):
                self.offer(preset, [str(m) for m in models] or None)

        self.tasks.run(lambda: list_models(base_url, api_key, 10.0), answered, lambda e: None, name="list-models")
