"""What the history list asks for: a new chat, a conversation opened, deleted (after asking) or exported. The
composer's draft stays with the conversation it was written in (``Asking``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.core.export import export_markdown
from app.core.session import Session
from app.core.store import Store
from app.ui.asking import Asking
from app.ui.history import HistorySidebar
from app.ui.workers import Tasks


class HistoryActions:
    def __init__(
        self,
        session: Session,
        store: Store,
        sidebar: HistorySidebar,
        asking: Asking,
        tasks: Tasks,
        window: QWidget,
        say: Callable[[str, int], None],
    ) -> None:
        self.session = session
        self.store = store
        self.sidebar = sidebar
        self.asking = asking
        self.tasks = tasks
        self.window = window
        self.say = say
        sidebar.opened.connect(self.open)
        sidebar.new_chat.connect(self.new_chat)
        sidebar.delete_requested.connect(lambda cid: self.delete(cid, confirm=True))
        sidebar.renamed.connect(session.rename)
        sidebar.export_requested.connect(self.export)

    def touched(self, conversation_id: str, title: str | None) -> None:
        """A question went to the conversation: it moves to the top, named after the question that named it."""
        item = self.sidebar.list.currentItem()
        self.sidebar.upsert(conversation_id, title if title is not None else item.text() if item is not None else "")

    def new_chat(self) -> None:
        self.asking.leave(self.session.conversation_id)
        self.session.new_chat()
        self.sidebar.select(None)
        self.asking.enter(None)
        self.asking.composer.input.setFocus()

    def open(self, conversation_id: str) -> None:
        if self.session.is_open(conversation_id):
            return
        self.asking.leave(self.session.conversation_id)
        self.session.open(conversation_id)
        self.sidebar.select(conversation_id)
        self.asking.enter(conversation_id)

    def delete(self, conversation_id: str, *, confirm: bool = False) -> None:
        if confirm:
            summary = self.store.conversation(conversation_id)
            title = summary.title if summary else "this conversation"
            answer = QMessageBox.question(
                self.window, "Delete conversation", f"Delete “{title}” and its attachments? This cannot be undone."
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.session.delete(conversation_id)
        self.sidebar.remove(conversation_id)
        if conversation_id == self.session.conversation_id:
            self.new_chat()
        self.asking.discard(conversation_id)

    def export(self, conversation_id: str) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Export to folder")
        if not folder:
            return
        self.tasks.run(
            lambda: export_markdown(self.store, conversation_id, Path(folder)),
            lambda path: self.say(f"Exported to {path}", 8000),
            lambda e: self.say(f"Export failed: {e}", 10000),
            name="export",
        )
