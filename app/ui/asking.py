"""The composer's part in the conversation: what is written and attached stays with the conversation it was
begun in, Edit puts a past question back in the composer, Send hands what it holds to the session (thinking as
the composer's switch says), and the budget line follows both.

Quick actions ask their question from here: a chip about what the composer holds, a hotkey about the capture it
just took (``ask_about``). An action whose prompt needs what the person types, and has none yet, waits for it:
the composer asks for it (the action is "armed") and Enter sends the action's question."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from app.core.conversation import Attachment
from app.core.file_kinds import picker_filter
from app.core.quick_actions import QuickAction
from app.core.session import BUSY, Session, Turn
from app.core.settings import Settings
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
        self.language = "English"  # the {language} of quick actions
        self.armed: QuickAction | None = None  # the quick action waiting for what the person types
        self.placeholder = composer.input.placeholderText()

    def use_settings(self, settings: Settings) -> None:
        """The quick actions and the thinking switch as the settings have them."""
        self.language = settings.translate_language
        self.composer.quick.set_actions(settings.actions(), settings.translate_language)
        self.composer.show_quick()
        self.composer.thinking.set_on(settings.thinking)
        self.disarm()

    # ------------------------------------------------------------------------------------------------ sending

    def send(self, action: QuickAction | None = None) -> None:
        """Sends what the composer holds: as it is, or as the question of ``action`` (or of the armed one)."""
        if self.session.is_streaming():
            self.say(BUSY, 5000)
            return
        action = action or self.armed
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
        thinking = self.composer.thinking.choice()
        if action is not None:
            if action.needs_input and not text:
                self.arm(action)
                return
            text, thinking = action.question(text, self.language), action.thinking_choice(thinking)
        if self.session.send(text, self.composer.strip.records(), thinking=thinking) is not None:
            if self.armed is not None:
                self.say("", 0)  # the line asking for what the action needs has been answered
            self.disarm()
            self._back()  # after an edit, what was being written before it comes back

    def run_action(self, action: QuickAction) -> None:
        """A quick action's chip: its question about what the composer holds, now, or once what it needs is
        typed."""
        self.send(action)

    def ask_about(self, path: str, action: QuickAction) -> None:
        """A quick action on a capture it just took (its hotkey, `glmv capture --action`): the question goes at
        once with that capture alone, whatever the composer holds. One that needs what the person types, or that
        comes while an answer is still being written, leaves the capture in the composer instead."""
        if action.needs_input or self.session.is_streaming():
            self.add_files([path])
            if self.session.is_streaming():
                self.say(f"{BUSY} The capture is in the composer: “{action.name}” can ask about it then.", 8000)
            else:
                self.arm(action)
            return
        if self.session.editing is not None:
            self.cancel_edit()
        thinking = action.thinking_choice(self.composer.thinking.choice())
        if self.session.send(action.question("", self.language), [Attachment(Path(path))], thinking=thinking) is None:
            self.add_files([path])  # not sent (the session said why): the capture is not lost

    def arm(self, action: QuickAction) -> None:
        """``action`` waits for what the person types: the question box says what it asks for."""
        self.armed = action
        self.composer.input.setPlaceholderText(f"{action.name}: type what you mean, then press Enter")
        self.composer.input.setFocus()
        self.say(f"“{action.name}” needs to know what you mean: type it and press Enter.", 8000)

    def disarm(self) -> None:
        self.armed = None
        self.composer.input.setPlaceholderText(self.placeholder)

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
        self.disarm()
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
