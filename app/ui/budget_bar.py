"""The message's cost against the model's context, under the composer, before anything is sent.

``app.core.media.budget.check_message`` does the sums (attachments, question, the past turns that go along, the
room kept for the answer); this shows them in one line, turns amber when little room is left and red when the
message cannot fit, and then says what to change. Send is disabled while it is over: the server would refuse it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QLabel

from app.core.media.budget import MessageBudget


def short_tokens(n: int) -> str:
    """128K for a context size, 3.2K for an estimate."""
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}K"
    if n >= 10_000:
        return f"{n / 1000:.0f}K"
    if n >= 1000:
        return f"{n / 1000:.1f}K"
    return str(n)


def describe(budget: MessageBudget) -> tuple[str, str, str]:
    """(line, state, tooltip); state is ok, tight or over."""
    context = short_tokens(budget.context_tokens)
    details = [
        f"Question: ~{budget.prompt_tokens:,} tokens",
        *(f"{_name(c.path)}: ~{c.tokens:,} tokens" for c in budget.attachments),
    ]
    history = budget.total_tokens - budget.prompt_tokens - sum(c.tokens for c in budget.attachments)
    if history > 0:
        details.append(f"Earlier turns sent along: ~{history:,} tokens")
    details.append(f"Kept free for the answer: {budget.answer_reserve:,} tokens")
    details.extend(w[0].upper() + w[1:] for w in budget.warnings)
    if budget.way_out:
        details.append(budget.way_out)
    tooltip = "\n".join(details)
    if budget.over:
        excess = budget.total_tokens + budget.answer_reserve - budget.context_tokens
        line = f"Over the {context} context by {excess:,} tokens: " + _remedy(budget)
        return line, "over", tooltip
    question = budget.prompt_tokens + sum(c.tokens for c in budget.attachments)
    if history > 0:
        so_far = f"with the conversation so far ~{budget.total_tokens:,} of {context}"
        line = f"This question ~{question:,} tokens · {so_far}"
    else:
        line = f"This question ~{question:,} of {context} context tokens"
    if budget.warnings:
        return line + f" · {budget.warnings[0]}", "tight", tooltip
    return line, "ok", tooltip


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _remedy(budget: MessageBudget) -> str:
    kinds = {c.kind for c in budget.attachments}
    if kinds & {"pdf", "document"}:
        return "choose fewer pages or send the text layer (hover for details)"
    if "slides" in kinds:
        return "choose fewer slides (hover for details)"
    if budget.attachments:
        return "remove an attachment or split the question (hover for details)"
    return "shorten the question or start a new chat"


class BudgetLabel(QLabel):
    """One line; hidden while there is nothing attached and the question is short. It names the question's own
    cost apart from the total with the earlier turns sent along, so that a longer conversation is not read as a
    heavier question."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("budget")
        self.setAccessibleName("token budget")
        self.setWordWrap(True)
        self.state = "ok"
        self.budget: MessageBudget | None = None
        self.setVisible(False)

    def show_budget(self, budget: MessageBudget | None, *, always: bool = False, partial: Sequence[str] = ()) -> None:
        """``partial`` says of each document that only some pages go which ones ("x.pdf: pages 1-85 of 285 go")."""
        self.budget = budget
        if budget is None:
            self.state = "ok"
            self.clear()
            self.setToolTip("")
            self.setVisible(False)
            return
        line, state, tooltip = describe(budget)
        if partial and state != "over":
            line += " · " + "; ".join(partial) + " (hover ⚠ for why)"
        self.state = state
        self.setText(line)
        self.setToolTip(tooltip)
        self.setProperty("state", state)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setVisible(always or state != "ok")

    @property
    def over(self) -> bool:
        return self.state == "over"
