"""The conversation as cards: questions with their attachments, answers (with their grounding boxes drawn on
the images they refer to), and failure banners.

A question knows the images the model saw with it (``grounding.pairing.question_images``): attached image files, and the
pages, slides and frames its documents and videos became. It counts them from what the attachments strip already
prepared when the question was sent live, and prepares its documents again on a worker when a conversation is
reopened or when a box lands on a page whose pixels the strip did not keep."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImageReader, QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.core.conversation import Attachment
from app.core.errors import as_kind
from app.core.events import Boxes, FailureKind
from app.core.file_kinds import kind_by_name
from app.core.grounding import groups_from_json
from app.core.grounding.pairing import QuestionImages, needs_preparing, question_images, with_pixels
from app.core.grounding.words import cut_short_note
from app.core.markdown_render import breakable
from app.core.media.parts import MediaReport, MediaTarget
from app.core.reasoning import shown_question
from app.core.session import Turn
from app.ui import theme
from app.ui.boxes_view import BoxesPanel, BoxViewer
from app.ui.panes import AnswerView, format_seconds, show_whole_text
from app.ui.workers import Tasks

log = logging.getLogger(__name__)

THUMB = 96


def scaled_image(path: Path, box: int) -> QPixmap | None:
    """Decodes only as many pixels as the box needs (cheap even for a 4K screenshot)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and (size.width() > box or size.height() > box):
        reader.setScaledSize(size.scaled(box, box, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return None if image.isNull() else QPixmap.fromImage(image)


def card_button(name: str, tip: str, color: str) -> QToolButton:
    button = QToolButton()
    button.setObjectName("cardButton")
    button.setIcon(theme.icon(name, color, 16))
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def is_image(path: Path) -> bool:
    """Named as an image (``app.core.file_kinds``): shown as a thumbnail when Qt can decode it."""
    kind = kind_by_name(path)
    return kind is not None and kind.name == "image"


class Thumbnail(QLabel):
    """An attachment in a question; an image opens large, where a dragged region can be asked about."""

    region_cropped = Signal(object)

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.viewer: BoxViewer | None = None
        self.setToolTip(path.name)
        self.setAccessibleName(f"attachment {path.name}")
        pixmap = scaled_image(path, THUMB) if is_image(path) else None
        if pixmap is not None:
            self.setPixmap(pixmap)
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            # The file's type in words: an emoji icon would be an empty box where no emoji font is installed.
            kind = path.suffix.lstrip(".").upper() or "FILE"
            self.setText(f"{kind} · {path.name}")
            self.setWordWrap(True)
            self.setMaximumWidth(180)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.pixmap() is not None and not self.pixmap().isNull():
            self.open_large()
        super().mousePressEvent(event)

    def open_large(self) -> BoxViewer:
        self.viewer = BoxViewer(self.path, parent=self.window())
        self.viewer.region_cropped.connect(self.region_cropped)
        self.viewer.open()
        return self.viewer


# What a question's card shows of it: a pasted log or file took a QLabel a second per 300 KB to lay out, each
# time the conversation was shown. The rest is behind "Show all"; what is sent, stored and edited is whole.
QUESTION_SHOWN_CHARS = 3_000
USER_CARD_MARGINS = (12, 8, 8, 8)
QUESTION_SHOWN_LINES = 40


def _question_start(text: str) -> tuple[str, bool]:
    """(what the card shows of ``text``, whether that is cut)."""
    shown = text[:QUESTION_SHOWN_CHARS]
    if shown.count("\n") >= QUESTION_SHOWN_LINES:
        shown = "\n".join(shown.split("\n")[:QUESTION_SHOWN_LINES])
    return shown, len(shown) < len(text)


class UserCard(QFrame):
    """A question: its text, its attachments, and the images the model saw with them (found on demand, for the
    answers whose boxes refer to them)."""

    edit_requested = Signal(str)
    region_cropped = Signal(object)
    images_changed = Signal()  # the images became known, or more of their pixels were rendered

    def __init__(
        self,
        message_id: str,
        text: str,
        attachments: Sequence[Path | Attachment],
        colors: theme.Colors,
        reports: Sequence[MediaReport | None] | None = None,
    ) -> None:
        """``reports`` are what the attachments strip prepared for each attachment (``None`` where it has none):
        with them the images are counted at once, without rendering anything again."""
        super().__init__()
        self.message_id = message_id
        self.sources = [a if isinstance(a, Attachment) else Attachment(Path(a)) for a in attachments]
        self.attachments = [Path(a.path) for a in self.sources]
        self.reports = list(reports) if reports is not None else None
        self.tasks: Tasks | None = None
        self.target: MediaTarget | None = None
        self.found: QuestionImages | None = None
        self._working = False
        self._tried: set[int] = set()  # images whose pixels were asked for (not asked again if they failed)
        self.setObjectName("userCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        shown, cut = _question_start(shown_question(text))
        self.text = QLabel(breakable(shown) + ("…" if cut else ""))
        self.text.setObjectName("userText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_all = QLabel(f'<a href="show">Show all ({len(text):,} characters)</a>')
        self.show_all.setObjectName("showAllQuestion")
        self.show_all.linkActivated.connect(lambda _: show_whole_text(self, text, "The whole question"))
        self.show_all.setVisible(cut)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(*USER_CARD_MARGINS)
        if self.attachments:
            row = QHBoxLayout()
            row.setSpacing(6)
            for path in self.attachments:
                thumbnail = Thumbnail(path)
                thumbnail.region_cropped.connect(self.region_cropped)
                row.addWidget(thumbnail)
            row.addStretch(1)
            layout.addLayout(row)
        lines = self.text.text().splitlines()
        longest = max((self.text.fontMetrics().horizontalAdvance(ln) for ln in lines), default=0)
        self._text_width = min(longest + 4, 520)  # short questions' cards hug their text
        self.text.setMinimumWidth(self._text_width)
        self._line = line = QHBoxLayout()
        line.addWidget(self.text, 1)
        self.edit = card_button("edit", "Edit and resend", colors.muted)
        self.edit.clicked.connect(lambda: self.edit_requested.emit(self.message_id))
        line.addWidget(self.edit, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(line)
        layout.addWidget(self.show_all)

    def apply_colors(self, colors: theme.Colors) -> None:
        self.edit.setIcon(theme.icon("edit", colors.muted, 16))

    def set_width_limit(self, width: int) -> None:
        """At most ``width`` wide (the transcript says how wide, and again when it changes): the text wraps within
        it, beside the edit button. The text's width is fixed, since the transcript aligns the card and Qt then
        sizes the label by its size hint: a label left free to be narrower got the height of the wider text."""
        self.setMaximumWidth(width)
        left, _, right, _ = USER_CARD_MARGINS
        room = width - left - right - self.edit.sizeHint().width() - self._spacing()
        fitted = min(self._text_width, max(60, room))
        if self.text.minimumWidth() != fitted or self.text.maximumWidth() != fitted:
            self.text.setFixedWidth(fitted)

    def _spacing(self) -> int:
        spacing = self._line.spacing()
        if spacing < 0:  # the style's
            spacing = self.style().layoutSpacing(
                QSizePolicy.ControlType.Label, QSizePolicy.ControlType.ToolButton, Qt.Orientation.Horizontal
            )
        return max(0, spacing) + 2

    def may_have_images(self) -> bool:
        """Whether answers may refer to this question's images: not when it is known to have none (no attachments,
        only text, or a PDF that went wholly as its text layer)."""
        if not self.sources:
            return False
        self._count_at_once()
        if self.found is not None:
            return bool(self.found.images) or not self.found.complete
        return True

    def _count_at_once(self) -> None:
        """Counts the images here when nothing needs rendering (image files, text, or the strip's reports)."""
        if self.found is None and not self._working and not needs_preparing(self.sources, self.reports):
            self.found = question_images(self.sources, reports=self.reports)

    def request_images(self, groups: Sequence[Boxes]) -> tuple[QuestionImages | None, bool]:
        """(the images the model saw, whether pixels ``groups`` need are still being rendered). The images are
        ``None`` while being found on a worker; ``images_changed`` says when there is more."""
        self._count_at_once()
        if self.found is None and not self._working:
            self._work(groups)
        if self.found is None:
            return None, True
        targets = {t for t in self.found.assign(groups) if t is not None}
        missing = {t for t in targets if self.found.images[t].needs_pixels}
        if missing - self._tried and not self._working:
            self._work(groups)
        return self.found, bool(missing) and (self._working or bool(missing - self._tried))

    def _work(self, groups: Sequence[Boxes]) -> None:
        """Finds the images (preparing documents as the request did) and renders the pages ``groups`` land on,
        keeping the pixels of those only, on a worker."""
        sources, reports, found, target = list(self.sources), self.reports, self.found, self.target
        groups = list(groups)

        def job() -> tuple[QuestionImages, set[int]]:
            images = found or question_images(sources, target, reports=reports)
            wanted = {i for i in images.assign(groups) if i is not None}
            keep = {i for i, image in enumerate(images.images) if image.data} if found is not None else set()
            return with_pixels(images, wanted | keep, target), wanted

        self._working = True
        (self.tasks or Tasks(self)).run(job, self._found, self._failed, name="question images")

    def _found(self, result: tuple[QuestionImages, set[int]]) -> None:
        if not isValid(self):
            return  # the conversation was closed while its pages rendered
        self._working = False
        self.found, tried = result
        self._tried |= tried
        self.images_changed.emit()

    def _failed(self, error: BaseException) -> None:
        if not isValid(self):
            return
        log.info("the images of a question could not be found again: %s", error)
        self._working = False
        if self.found is None:
            self.found = QuestionImages((), f"its attachments could not be prepared again ({error})")
        else:
            self._tried |= set(range(len(self.found.images)))
        self.images_changed.emit()


MANY_GROUPS = 50  # past this many box groups, a streaming answer's boxes are drawn again at most every:
BOX_REFRESH_MS = 250


class AnswerCard(QFrame):
    """One answer, and under it the boxes it gave, drawn on the question's images.

    Boxes arrive live (``add_boxes`` per ``Boxes`` event) or all at once (``set_boxes`` with the stored form,
    when history is reopened or the stream ends). They are drawn on the images the model saw with the question
    ``find_question`` gives, which the transcript sets when the card is added, because only the transcript knows
    which question the answer follows.

    What the answer is (its model, thinking, status) is its ``turn``, the session's state of it: the card only
    shows it."""

    selected = Signal(str)
    regenerate_requested = Signal(str)
    copied = Signal(str)
    region_cropped = Signal(object)

    def __init__(self, turn: Turn, colors: theme.Colors) -> None:
        super().__init__()
        self.turn = turn
        self.setObjectName("answerCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.view = AnswerView(self, dark=colors.dark)
        self.view.setObjectName("answer_past")
        self.view.copied.connect(self.copied)
        self.groups: list[Boxes] = []
        self._refresh = QTimer(self, singleShot=True)
        self._refresh.timeout.connect(self.refresh_boxes)
        self.find_question: Callable[[], UserCard | None] = lambda: None
        self._watching: list[UserCard] = []
        self.boxes_panel = BoxesPanel(self)
        self.boxes_panel.message.connect(self.copied)
        self.boxes_panel.region_cropped.connect(self.region_cropped)
        self.meta = QLabel("")
        self.meta.setObjectName("cardMeta")
        self.copy = card_button("copy", "Copy answer", colors.muted)
        self.copy.clicked.connect(self._copy)
        self.regenerate = card_button("regenerate", "Regenerate", colors.muted)
        self.regenerate.clicked.connect(lambda: self.regenerate_requested.emit(self.message_id))
        footer = QHBoxLayout()
        footer.setContentsMargins(0, 0, 0, 0)
        footer.addWidget(self.meta)
        footer.addStretch(1)
        footer.addWidget(self.copy)
        footer.addWidget(self.regenerate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addWidget(self.view)
        layout.addWidget(self.boxes_panel)
        layout.addLayout(footer)
        self.update_meta()

    def add_boxes(self, event: Boxes) -> None:
        """A box group that just arrived in the stream. The boxes are drawn again once for all the groups that
        arrive together, and at most every BOX_REFRESH_MS while there are many: each drawing places every group,
        so drawing per group would cost the square of their number."""
        self.groups.append(event)
        if not self._refresh.isActive():
            self._refresh.start(BOX_REFRESH_MS if len(self.groups) > MANY_GROUPS else 0)
        if event.cut_short:
            self.copied.emit(cut_short_note(event))

    def set_boxes(self, groups: list[Boxes] | list[Any] | None) -> None:
        """All the answer's box groups: ``Boxes`` events, or the stored form (``grounding.groups_to_json``, or the
        flat list of ``[x1, y1, x2, y2, label]`` rows). Replaces what was shown, so calling it again at the end of
        a stream that already delivered the groups live keeps them as they came."""
        new = list(groups) if groups and all(isinstance(g, Boxes) for g in groups) else groups_from_json(groups)
        same_boxes = [b for g in new for b in g.boxes] == [b for g in self.groups for b in g.boxes]
        if new == self.groups or (same_boxes and len(new) == 1):
            return  # the same boxes again, or their flat stored form: keep the groups as they arrived
        self.groups = new
        self.refresh_boxes()

    def refresh_boxes(self) -> None:
        self._refresh.stop()
        if not self.groups:
            self.boxes_panel.set_groups([], QuestionImages())
            return
        question = self.find_question()
        if question is None:
            self.boxes_panel.set_groups(self.groups, QuestionImages())
            return
        if not any(q is question for q in self._watching):
            self._watching.append(question)
            question.images_changed.connect(self.refresh_boxes)
        found, loading = question.request_images(self.groups)
        self.boxes_panel.set_groups(self.groups, found, loading=loading)

    @property
    def message_id(self) -> str:
        return self.turn.id

    def update_meta(self, extra: str = "") -> None:
        turn = self.turn
        parts = [p for p in (turn.model, extra) if p]
        if turn.thinking_seconds is not None:
            parts.append(f"thought for {format_seconds(turn.thinking_seconds)}")
        if turn.status == "stopped":
            parts.append("stopped")
        elif turn.status == "failed":
            parts.append("incomplete")
        self.meta.setText(" · ".join(parts))

    def apply_colors(self, colors: theme.Colors, *, rerender: bool = False) -> None:
        """New icon colours; with ``rerender`` the answer is laid out again, because its code colours are
        written into its HTML."""
        self.copy.setIcon(theme.icon("copy", colors.muted, 16))
        self.regenerate.setIcon(theme.icon("regenerate", colors.muted, 16))
        if rerender:
            self.view.set_dark(colors.dark)

    def set_current(self, current: bool) -> None:
        self.view.setObjectName("answer" if current else "answer_past")
        self.view.setAccessibleName("answer" if current else "past answer")
        self.regenerate.setVisible(current)

    def set_selected(self, selected: bool) -> None:
        self.setProperty("selected", "true" if selected else "false")
        self.style().unpolish(self)
        self.style().polish(self)

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.view.plain_text())
        self.copied.emit("Answer copied")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.selected.emit(self.message_id)
        super().mousePressEvent(event)


# Lower-case names that may open a message and are spelled so (the rest are sentences the core writes in lower
# case, to follow "glmv: " on a terminal).
LOWER_CASE_NAMES = ("localhost", "ffmpeg", "glmv", "xdotool", "ffprobe")


def as_sentence(message: str) -> str:
    """The message with a capital at its start, unless it starts with a name: a file, host or program."""
    first = message.split(" ", 1)[0].rstrip(",;")
    if first.isascii() and first.isalpha() and first.islower() and first not in LOWER_CASE_NAMES:
        return message[0].upper() + message[1:]
    return message


# The failures whose way out is in Settings (a key, a server, a model): their banner has a Settings… button.
SETTINGS_KINDS: frozenset[FailureKind] = frozenset({"auth", "model", "network"})


class Banner(QFrame):
    """A failure, said plainly, with what to do about it: the one place a failure's kind decides its banner.
    ``kind`` may come from a history row (a string), read as a ``FailureKind``."""

    retry = Signal()
    settings = Signal()

    def __init__(self, kind: str, message: str, colors: theme.Colors, retryable: bool = True) -> None:
        super().__init__()
        self.kind: FailureKind = as_kind(kind)
        self.setObjectName("banner")
        self.setAccessibleName("error banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = QLabel(as_sentence(message))
        self.text.setObjectName("bannerText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("retry")
        self.retry_button.clicked.connect(self.retry)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.addWidget(self.text, 1)
        if self.kind in SETTINGS_KINDS:
            settings = QPushButton("Settings…")
            settings.clicked.connect(self.settings)
            layout.addWidget(settings, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        self.retry_button.setVisible(retryable)


class Transcript(QScrollArea):
    """The cards in a column. It follows the end while an answer streams unless the person scrolled up.

    A region cropped from an image (a clicked box, or a rectangle dragged in the large view) is handed to the
    window's composer through ``add_attachment_path`` (or ``add_files``), and announced by ``region_attached``."""

    region_attached = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks: Tasks | None = None
        self.target: Callable[[], MediaTarget] = MediaTarget
        self.setObjectName("transcriptArea")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.inner = QWidget()
        self.inner.setObjectName("transcript")
        self.column = QVBoxLayout(self.inner)
        self.column.setContentsMargins(24, 16, 24, 16)
        self.column.setSpacing(10)
        self.empty = QLabel(
            "Ask about a screenshot, a PDF, slides or anything else.\n"
            "Drop files anywhere on the window, paste an image, or use the paper clip."
        )
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)  # a narrow middle column must not cut the hint off
        self.empty.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.column.addWidget(self.empty, 100)
        self.column.addStretch(1)
        self.setWidget(self.inner)
        self._follow = True
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().rangeChanged.connect(self._range_changed)

    def question_width(self) -> int:
        """How wide a question's card may be: four fifths of the column, at least 360 px, never past its edge."""
        margins = self.column.contentsMargins()
        room = self.viewport().width() - margins.left() - margins.right()
        return max(120, min(room, max(360, int(self.viewport().width() * 0.8))))

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:  # the window, or the scroll bar coming or going
            width = self.question_width()
            for card in self.cards():
                if isinstance(card, UserCard):
                    card.set_width_limit(width)
        return super().viewportEvent(event)

    def use_workers(self, tasks: Tasks, target: Callable[[], MediaTarget]) -> None:
        """Where questions prepare their documents again (the window's workers, so closing waits for them) and
        for which model: the backend's media target, as the attachments strip and the request use it."""
        self.tasks, self.target = tasks, target

    def apply_colors(self, colors: theme.Colors, *, rerender: bool = False) -> None:
        """Restyle the cards already shown after a change of scheme (see ``AnswerCard.apply_colors``)."""
        for card in self.cards():
            if isinstance(card, AnswerCard):
                card.apply_colors(colors, rerender=rerender)
            elif isinstance(card, UserCard):
                card.apply_colors(colors)

    def cards(self) -> list[QWidget]:
        found = []
        for i in range(self.column.count()):
            item = self.column.itemAt(i)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.empty:
                found.append(widget)
        return found

    def add(self, widget: QWidget, *, user: bool = False) -> None:
        self.empty.hide()
        if isinstance(widget, (UserCard, AnswerCard)):
            widget.region_cropped.connect(self.attach_region)
        if isinstance(widget, AnswerCard):
            widget.find_question = lambda: self.question_for(widget)
        if isinstance(widget, UserCard):
            if self.tasks is None:
                self.tasks = Tasks(self)
            widget.tasks = widget.tasks or self.tasks
            widget.target = widget.target or self.target()
        if isinstance(widget, UserCard):
            widget.set_width_limit(self.question_width())
        if user:
            widget.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
            self.column.insertWidget(self.column.indexOf(self.empty), widget, 0, Qt.AlignmentFlag.AlignRight)
        else:
            self.column.insertWidget(self.column.indexOf(self.empty), widget)
        self._follow = True
        QTimer.singleShot(0, self.scroll_to_end)

    def remove(self, widget: QWidget) -> None:
        self.column.removeWidget(widget)
        widget.deleteLater()
        if not self.cards():
            self.empty.show()

    def clear(self) -> None:
        for widget in self.cards():
            self.column.removeWidget(widget)
            widget.deleteLater()
        self.empty.show()

    def question_for(self, answer: QWidget) -> UserCard | None:
        """The question whose images an answer's boxes refer to: the one it answers, or, when that question had
        none ("and where is the save button?"), the latest earlier question that had some."""
        cards = self.cards()
        if answer not in cards:
            return None
        for card in reversed(cards[: cards.index(answer)]):
            if isinstance(card, UserCard) and card.may_have_images():
                return card
        return None

    def attach_region(self, path: Path) -> None:
        window = self.window()
        add_path = getattr(window, "add_attachment_path", None)
        if callable(add_path):
            add_path(str(path))
        else:
            add_files = getattr(window, "add_files", None)
            if not callable(add_files):
                return
            add_files([Path(path)])
        self.region_attached.emit(Path(path))
        status = getattr(window, "statusBar", None)
        if callable(status):
            status().showMessage(f"Region {Path(path).name} added to the next question.", 4000)

    def scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 24

    def _range_changed(self, _low: int, high: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(high)

    def sizeHint(self) -> QSize:
        return QSize(600, 500)
