"""The composer's thinking switch: whether the model thinks before answering the next question, and where the
backend can hold it to one, for at most how many tokens. Clicking it switches thinking; its menu picks the budget.

The words for the choice an answer was given (``choice_words``) are the thinking pane's.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from app.core.backends.base import ThinkingChoice

BUDGETS: tuple[int | None, ...] = (None, 256, 1024, 4096, 16384)
NO_BUDGET_HERE = "This backend takes no thinking budget: the model thinks as long as it needs."


def budget_words(budget: int | None) -> str:
    return "no limit" if budget is None else f"at most {budget:,} tokens"


def choice_words(choice: ThinkingChoice | None) -> str:
    """What the thinking pane's header says of the budget an answer was given; "" without one (thinking off is
    said where the thinking would be, ``OFF_NOTE``)."""
    if choice is None or not choice.on or choice.budget is None:
        return ""
    return f"budget {choice.budget:,} tokens"


OFF_NOTE = "thinking was off for this question"


class ThinkingSwitch(QToolButton):
    """Checked: the next question is thought about first. Its menu holds the budgets; those are disabled, with
    the reason in the tooltip, while the backend takes none."""

    changed = Signal()

    def __init__(self, on: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thinkingSwitch")
        self.setAccessibleName("think before answering")
        self.setCheckable(True)
        self.setChecked(on)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.budget: int | None = None
        self.budget_allowed = True
        menu = QMenu(self)
        menu.setObjectName("thinkingBudgets")
        self.budgets = QActionGroup(self)
        self.budgets.setExclusive(True)
        for budget in BUDGETS:
            action = QAction(f"Think {budget_words(budget)}", menu)
            action.setCheckable(True)
            action.setChecked(budget is None)
            action.setData(budget)
            action.triggered.connect(lambda _=False, b=budget: self.set_budget(b))
            self.budgets.addAction(action)
            menu.addAction(action)
        self.setMenu(menu)
        self.toggled.connect(lambda _: self._show())
        self._show()

    def choice(self) -> ThinkingChoice:
        """What the next question asks for (a budget only where the backend takes one)."""
        on = self.isChecked()
        return ThinkingChoice(on, self.budget if on and self.budget_allowed else None)

    def set_on(self, on: bool) -> None:
        self.setChecked(on)

    def set_budget(self, budget: int | None) -> None:
        """A budget for the next questions; choosing one switches thinking on."""
        self.budget = budget
        for action in self.budgets.actions():
            action.setChecked(action.data() == budget)
        self.setChecked(True)
        self._show()

    def allow_budget(self, allowed: bool) -> None:
        """Whether the backend can hold the model to a budget (``Capabilities.thinking_budget``)."""
        self.budget_allowed = allowed
        for action in self.budgets.actions():
            action.setEnabled(allowed or action.data() is None)
        self._show()

    def _show(self) -> None:
        on = self.isChecked()
        budget = self.budget if self.budget_allowed else None
        self.setText("Think" if not on or budget is None else f"Think ≤{_short(budget)}")
        if not on:
            tip = "Thinking is off for the next question: the model answers at once. Click to switch it on."
        else:
            tip = f"The model thinks before answering the next question ({budget_words(budget)}). "
            tip += "Click to switch it off; the arrow sets a budget." if self.budget_allowed else NO_BUDGET_HERE
        self.setToolTip(tip)
        self.changed.emit()


def _short(tokens: int) -> str:
    return f"{tokens // 1024}K" if tokens >= 1024 and tokens % 1024 == 0 else str(tokens)
