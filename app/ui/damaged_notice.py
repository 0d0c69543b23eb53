"""Tells the person, over the main window, which damaged files were moved aside at start and where they are
now: they may want the old history back, or a copy of their old settings, and a silent reset would look like
the app lost their data."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.damaged import SetAside


def show_set_aside(parent: QWidget, set_aside: Sequence[SetAside]) -> QMessageBox | None:
    """A warning, modal to ``parent`` only (the event loop keeps running); None when nothing was set aside."""
    if not set_aside:
        return None
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Damaged file set aside" if len(set_aside) == 1 else "Damaged files set aside",
        "\n\n".join(s.message for s in set_aside),
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
