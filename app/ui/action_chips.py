"""The quick actions as chips in the composer, shown once something is attached (a capture, a file): one click
asks the action's question about it (``asking.Asking.run_action``)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from app.core.quick_actions import QuickAction


class ActionChips(QWidget):
    chosen = Signal(object)  # QuickAction

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("actionChips")
        self.setAccessibleName("quick actions")
        self.listed: list[QuickAction] = []
        self.buttons: list[QToolButton] = []
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(6, 0, 6, 0)
        self.row.setSpacing(4)
        title = QLabel("Ask:")
        title.setObjectName("actionChipsTitle")
        self.row.addWidget(title)
        self.row.addStretch(1)
        self.setVisible(False)

    def set_actions(self, actions: list[QuickAction], language: str = "English") -> None:
        for button in self.buttons:
            self.row.removeWidget(button)
            button.deleteLater()
        self.listed = list(actions)
        self.buttons = []
        for action in self.listed:
            button = QToolButton()
            button.setObjectName("actionChip")
            button.setText(action.name)
            button.setAccessibleName(f"quick action {action.name}")
            button.setToolTip(action.prompt.replace("{input}", "…").replace("{language}", language))
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, a=action: self.chosen.emit(a))
            self.row.insertWidget(self.row.count() - 1, button)
            self.buttons.append(button)

    def button(self, name: str) -> QToolButton:
        return next(b for b, a in zip(self.buttons, self.listed, strict=True) if a.name == name)
