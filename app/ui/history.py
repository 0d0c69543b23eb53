"""The history sidebar: new chat, search over titles and contents, the conversations newest first.

Rename happens in place (double-click or F2); delete and export are in the context menu.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.core.store import ConversationSummary, Store
from app.ui import theme

ID_ROLE = Qt.ItemDataRole.UserRole


class _TitleDelegate(QStyledItemDelegate):
    """A row is at most as wide as the list, so a long title is elided rather than widening the list (which
    then scrolls sideways, and keeps whatever width the row it measured had)."""

    def __init__(self, view: QListWidget) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(min(hint.width(), self.view.viewport().width()), hint.height())


class HistorySidebar(QWidget):
    opened = Signal(str)
    new_chat = Signal()
    delete_requested = Signal(str)
    export_requested = Signal(str)
    renamed = Signal(str, str)

    def __init__(self, store: Store, colors: theme.Colors) -> None:
        super().__init__()
        self.store = store
        self.setObjectName("sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.new_button = QPushButton(" New chat")
        self.new_button.setObjectName("newChat")
        self.new_button.setAccessibleName("new chat")
        self.new_button.setIcon(theme.icon("new", colors.text, 16))
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.new_button.clicked.connect(self.new_chat)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setAccessibleName("search history")
        self.search.setPlaceholderText("Search conversations")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setObjectName("history")
        self.list.setAccessibleName("history")
        self.list.setUniformItemSizes(True)
        self.list.setItemDelegate(_TitleDelegate(self.list))
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemClicked.connect(lambda item: self.opened.emit(item.data(ID_ROLE)))
        self.list.itemActivated.connect(lambda item: self.opened.emit(item.data(ID_ROLE)))
        self.list.itemChanged.connect(self._item_changed)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._delete_current)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _: self._debounce.start())
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(10, 10, 10, 10)
        self._column.setSpacing(8)
        self._column.addWidget(self.new_button)
        self._column.addWidget(self.search)
        self._column.addWidget(self.list, 1)
        self._loading = False
        self.shown: str | None = None  # the conversation on screen, the one row highlighted

    def add_footer(self, widget: QWidget) -> None:
        """Puts ``widget`` below the list; the main window's Settings button lives there."""
        self._column.addWidget(widget)

    def apply_colors(self, colors: theme.Colors) -> None:
        self.new_button.setIcon(theme.icon("new", colors.text, 16))

    def reload(self, select: str | None = None) -> None:
        query = self.search.text()
        found = self.store.search(query) if query.strip() else self.store.conversations()
        current = select or self.shown
        self._loading = True
        self.list.setUpdatesEnabled(False)
        try:
            self.list.clear()
            for summary in found:
                self.list.addItem(self._item(summary))
                if summary.id == current:
                    self.list.setCurrentRow(self.list.count() - 1)
        finally:
            self.list.setUpdatesEnabled(True)
            self._loading = False

    def _item(self, summary: ConversationSummary) -> QListWidgetItem:
        item = QListWidgetItem(summary.title or "New chat")
        item.setData(ID_ROLE, summary.id)
        item.setToolTip(summary.title)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        return item

    def upsert(self, conversation_id: str, title: str) -> None:
        """Puts a conversation at the top (it was just used) without reading the whole list again."""
        self._loading = True
        try:
            for row in range(self.list.count()):
                if self.list.item(row).data(ID_ROLE) == conversation_id:
                    item = self.list.takeItem(row)
                    break
            else:
                item = self._item(ConversationSummary(conversation_id, title, 0, 0))
            item.setText(title or "New chat")
            self.list.insertItem(0, item)
            self.list.setCurrentItem(item)
            self.shown = conversation_id
        finally:
            self._loading = False

    def remove(self, conversation_id: str) -> None:
        """The row goes; the highlight stays on the conversation shown (Qt would move it to the next row)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(ID_ROLE) == conversation_id:
                self._loading = True
                try:
                    self.list.takeItem(row)
                finally:
                    self._loading = False
                break
        self.select(None if conversation_id == self.shown else self.shown)

    def select(self, conversation_id: str | None) -> None:
        """Highlights the conversation shown (None: a new chat, nothing highlighted)."""
        self.shown = conversation_id
        self._loading = True
        try:
            if conversation_id is None:
                self.list.clearSelection()
                self.list.setCurrentRow(-1)
                return
            for row in range(self.list.count()):
                if self.list.item(row).data(ID_ROLE) == conversation_id:
                    self.list.setCurrentRow(row)
                    return
        finally:
            self._loading = False

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(ID_ROLE) if item is not None else None

    def ids(self) -> list[str]:
        return [self.list.item(row).data(ID_ROLE) for row in range(self.list.count())]

    def _item_changed(self, item: QListWidgetItem) -> None:
        if self._loading:
            return
        title = item.text().strip()
        if title:
            self.renamed.emit(item.data(ID_ROLE), title)

    def _delete_current(self) -> None:
        conversation_id = self.current_id()
        if conversation_id:
            self.delete_requested.emit(conversation_id)

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        conversation_id = item.data(ID_ROLE)
        menu = QMenu(self)
        menu.addAction("Rename", lambda: self.list.editItem(item))
        menu.addAction("Export to Markdown…", lambda: self.export_requested.emit(conversation_id))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete_requested.emit(conversation_id))
        menu.exec(self.list.viewport().mapToGlobal(pos))
        # The right click moved the highlight to the row it was on: back to the conversation shown (unless a
        # rename is being typed in that row).
        if self.list.state() != QAbstractItemView.State.EditingState:
            self.select(self.shown)
