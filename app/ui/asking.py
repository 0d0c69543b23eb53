"""The composer's part in the conversation: what is written and attached stays with the conversation it was
begun in, Edit puts a past question back in the composer, Send hands what it holds to the session, and the
budget line follows both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from app.core.file_kinds import picker_filter
from app.core.session import BUSY, Session, Turn
from app.ui.composer import AttachmentChip, Composer


@dataclass
class Draft:
    """What the composer held for one conversation: the question being written and its attachments' chips
    (whole, with what was read of them), kept while another conversation is shown."""

    text: str = ""
    chips: list[AttachmentChip] = field(default_factory=list)

    def discard(self) -> None:
        for chip in self.chips:
            chip.deleteLater()
        self.chips = []


class Asking:
    def __init__(self, composer: Composer, session: Session, say: Callable[[str, int], None]) -> None:
        """``say`` shows a line in the status bar for so many milliseconds."""
        self.composer = composer
        self.session = session
        self.say = say
        # Leaving a conversation keeps its draft here (None is the new chat not yet sent); coming back puts it in
        # the composer again.
        self.drafts: dict[str | None, Draft] = {}
        self.before_edit: Draft | None = None  # what the composer held when Edit was clicked

    # ------------------------------------------------------------------------------------------------ sending

    def send(self) -> None:
        if self.session.is_streaming():
            self.say(BUSY, 5000)
            return
        text = self.composer.input.toPlainText().strip()
        chips = self.composer.strip.chips()
        broken = [c for c in chips if c.error]
        if broken:
            self.say(f"{broken[0].error} Remove it to send.", 10000)
            return
        if not text and not chips:
            return
        if self.composer.budget.over:
            self.say(self.composer.budget.text(), 10000)
            return
        if self.session.send(text, self.composer.strip.records()) is not None:
            self._back()  # after an edit, what was being written before it comes back

    def question_returned(self, question: Turn) -> None:
        """Nothing arrived for a new question: it goes back into the composer, ready to send again."""
        if not self.composer.input.toPlainText().strip() and not self.composer.strip.chips():
            self.edit(question.id)

    def refresh_budget(self) -> None:
        chips = self.composer.strip.chips()
        text = self.composer.input.toPlainText()
        budget = self.session.budget(self.composer.strip.reports(), text) if chips or text.strip() else None
        if budget is None:
            self.composer.budget.show_budget(None)
            self.composer.set_over_budget(False)
            return
        self.composer.budget.show_budget(budget, always=bool(chips), partial=self.composer.strip.partial())
        self.composer.set_over_budget(self.composer.budget.over)

    def add_files(self, paths: list) -> None:
        for path in map(Path, paths):
            if path.is_dir():
                self.say(f"{path.name} is a folder: attach the files inside it instead.", 6000)
                continue
            self.composer.strip.add(path)

    def pick_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self.composer.window(),
            "Attach files",
            "",
            picker_filter(),
        )
        self.add_files(files)

    # ------------------------------------------------------------------------------------------------ editing

    def edit(self, message_id: str) -> None:
        """The question in the composer to edit; the first edit keeps aside what the composer held."""
        first = self.session.editing is None
        question = self.session.begin_edit(message_id)
        if question is None:
            return
        if first:
            self.before_edit = self._take()
        composer = self.composer
        composer.input.setPlainText(question.text)
        composer.strip.clear()
        for record in question.attachments:
            composer.strip.add(record.attachment)
        composer.set_editing(True)
        composer.input.setFocus()
        cursor = composer.input.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        composer.input.setTextCursor(cursor)

    def cancel_edit(self) -> None:
        """The composer goes back to what it held before Edit was clicked."""
        if self.session.editing is None:
            return
        self.session.end_edit()
        self._back()

    def _back(self) -> None:
        """The composer empty again, then holding what it held before Edit was clicked (if it was)."""
        self.composer.set_editing(False)
        self.composer.input.clear()
        self.composer.strip.clear()
        self._put(self.before_edit)
        self.before_edit = None

    # ------------------------------------------------------------------------------------------------ drafts

    def leave(self, conversation_id: str | None) -> None:
        """Before another conversation is shown: the one on screen keeps what its composer holds."""
        self.cancel_edit()
        draft = self._take()
        if draft.text.strip() or draft.chips:
            self.drafts[conversation_id] = draft

    def enter(self, conversation_id: str | None) -> None:
        self._put(self.drafts.pop(conversation_id, None))
        self.refresh_budget()

    def discard(self, conversation_id: str) -> None:
        dropped = self.drafts.pop(conversation_id, None)
        if dropped is not None:
            dropped.discard()

    def _take(self) -> Draft:
        """The composer's question and attachments, taken out of it (it is left empty)."""
        draft = Draft(self.composer.input.toPlainText(), self.composer.strip.take())
        self.composer.input.clear()
        return draft

    def _put(self, draft: Draft | None) -> None:
        if draft is None:
            return
        self.composer.input.setPlainText(draft.text)
        self.composer.strip.put(draft.chips)
