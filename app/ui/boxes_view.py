"""Grounding boxes shown on the images they refer to: inline under an answer, and large in a viewer where a
dragged rectangle (or a click on a box) becomes a cropped follow-up attachment.

The images are those the model saw (``grounding.pairing.question_images``): attached image files, and the pages, slides
and video frames rendered for the request. Boxes are placed from the ORIGINAL image's proportions (the file, or
the rendered page), whatever size the preview is decoded at; crops are cut from the original file or rendered
again from the PDF page, never from the preview.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QImageReader,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QShortcut,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.capture.metadata import CaptureInfo, read_capture_metadata
from app.core.conversation import Attachment
from app.core.events import Box, Boxes
from app.core.grounding import GroundingError
from app.core.grounding.drawing import color_for, text_color_on
from app.core.grounding.pairing import QuestionImages, SeenImage
from app.core.grounding.pixels import PixelBox, to_pixels
from app.core.grounding.regions import crop_seen, crop_seen_box
from app.core.grounding.screen import box_on_screen
from app.core.grounding.words import box_name, describe_box
from app.ui.screen_boxes import ScreenBox, ScreenBoxes, show_on_screen

log = logging.getLogger(__name__)

INLINE_MAX_HEIGHT = 340
LABELLED_BOXES = 200  # boxes past this many on one image are outlined without their numbered tags
INLINE_DECODE_SIDE = 1200
# The large view decodes at most this many pixels a side: a 100-megapixel photo would pass Qt's image allocation
# limit (256 MB) and show nothing; crops are cut from the original file anyway.
VIEWER_DECODE_SIDE = 6000
DRAG_THRESHOLD = 4


@dataclass(frozen=True)
class Placed:
    """A box with the number it has in its answer (numbering runs across groups and images)."""

    index: int
    box: Box


@dataclass
class ImageBoxes:
    """One image of the question and the boxes that belong on it."""

    image: SeenImage
    image_number: int
    boxes: list[Placed]
    size: tuple[int, int] | None = None
    capture: CaptureInfo | None = None

    @property
    def path(self) -> Path:
        return self.image.path

    @property
    def title(self) -> str:
        return self.image.title


def load_image(path: Path, max_side: int | None = None) -> QImage:
    """Upright (EXIF), decoded no larger than ``max_side`` when given (cheap for a 4K screenshot preview)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if max_side and size.isValid() and max(size.width(), size.height()) > max_side:
        reader.setScaledSize(size.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


def load_seen(image: SeenImage, max_side: int | None = None) -> QImage:
    """An image the model saw: the file (decoded small when it is large), or the page as it was rendered."""
    if image.is_file:
        return load_image(image.path, max_side)
    return QImage.fromData(image.data)


def qcolor(index: int, alpha: int = 255) -> QColor:
    r, g, b = color_for(index)
    return QColor(r, g, b, alpha)


class BoxCanvas(QWidget):
    """An image with its boxes painted over it at whatever scale the widget shows it.

    A click on a box says which; a click elsewhere says so; with ``selectable``, a drag selects a region, which
    is reported in pixels of the original image."""

    box_clicked = Signal(int)  # position in ``boxes``
    image_clicked = Signal()
    region_selected = Signal(object)  # PixelBox, original-image pixels

    def __init__(
        self,
        image: QImage,
        source_size: tuple[int, int],
        boxes: Sequence[Placed] = (),
        *,
        selectable: bool = False,
        max_height: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("boxCanvas")
        self.image = image
        self.source_size = source_size
        self.boxes = list(boxes)
        self.show_boxes = True
        self.selectable = selectable
        self.max_height = max_height
        self.selection: PixelBox | None = None
        self._press: QPointF | None = None
        self._drag: QRectF | None = None
        self._hover: int | None = None
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor if selectable else Qt.CursorShape.PointingHandCursor)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(max_height is not None)
        self.setSizePolicy(policy)
        self.setAccessibleName("image with boxes" if self.boxes else "image")

    # -- geometry -----------------------------------------------------------------------------------------------

    def hasHeightForWidth(self) -> bool:
        return self.max_height is not None

    def heightForWidth(self, width: int) -> int:
        sw, sh = self.source_size
        return max(40, min(self.max_height or sh, round(width * sh / sw)))

    def sizeHint(self) -> QSize:
        sw, sh = self.source_size
        if self.max_height is None:
            return QSize(sw, sh)
        height = min(self.max_height, sh)
        return QSize(min(round(height * sw / sh), 640), height)

    def minimumSizeHint(self) -> QSize:
        return QSize(80, 40)

    def scale(self) -> float:
        sw, sh = self.source_size
        return min(self.width() / sw, self.height() / sh)

    def image_rect(self) -> QRectF:
        """Where the image is drawn: as large as fits, at the left (inline) or centred (viewer)."""
        sw, sh = self.source_size
        s = self.scale()
        w, h = sw * s, sh * s
        x = 0.0 if self.max_height is not None else (self.width() - w) / 2
        return QRectF(x, (self.height() - h) / 2, w, h)

    def box_rects(self) -> list[QRectF]:
        """Each box in widget coordinates, through the original image's pixels."""
        origin, s = self.image_rect(), self.scale()
        rects = []
        for placed in self.boxes:
            p = to_pixels(placed.box, *self.source_size)
            rects.append(QRectF(origin.x() + p.left * s, origin.y() + p.top * s, p.width * s, p.height * s))
        return rects

    def to_source(self, point: QPointF) -> tuple[float, float]:
        origin, s = self.image_rect(), self.scale()
        sw, sh = self.source_size
        return (min(max((point.x() - origin.x()) / s, 0), sw), min(max((point.y() - origin.y()) / s, 0), sh))

    def from_source(self, rect: PixelBox) -> QRectF:
        origin, s = self.image_rect(), self.scale()
        return QRectF(origin.x() + rect.left * s, origin.y() + rect.top * s, rect.width * s, rect.height * s)

    def box_at(self, point: QPointF) -> int | None:
        """The smallest box under ``point`` (a small box inside a large one stays clickable)."""
        if not self.show_boxes:
            return None
        hits = [
            (r.width() * r.height(), i)
            for i, r in enumerate(self.box_rects())
            if r.adjusted(-3, -3, 3, 3).contains(point)
        ]
        return min(hits)[1] if hits else None

    def set_show_boxes(self, show: bool) -> None:
        self.show_boxes = show
        self.update()

    # -- painting -----------------------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        target = self.image_rect()
        if self.image.isNull():
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "The image cannot be shown.")
        else:
            painter.drawImage(target, self.image)
            # A hairline frame keeps a dark screenshot's edge visible on a dark card (and a white one on white).
            painter.setPen(QPen(QColor(128, 128, 128, 140), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(target.adjusted(0.5, 0.5, -0.5, -0.5))
        selection = self._drag or (self.from_source(self.selection) if self.selection else None)
        if selection is not None:
            self._paint_selection(painter, selection, target)
        if self.show_boxes:
            self._paint_boxes(painter)
        painter.end()

    def _paint_boxes(self, painter: QPainter) -> None:
        rects = self.box_rects()
        if len(rects) > LABELLED_BOXES:
            # Past this many, numbered tags would cover the image and cost a paint per box: the rest are drawn as
            # outlines in one pass each (the caption says so, and Copy coordinates lists every box).
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(0, 0, 0, 170), 3.0))
            painter.drawRects(rects[LABELLED_BOXES:])
            painter.setPen(QPen(qcolor(LABELLED_BOXES), 1.5))
            painter.drawRects(rects[LABELLED_BOXES:])
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() - 1, 7.5))
        font.setBold(True)
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        bounds = QRectF(self.rect())
        for i, (placed, rect) in enumerate(zip(self.boxes[:LABELLED_BOXES], rects, strict=False)):
            color = qcolor(placed.index)
            width = 3.0 if i == self._hover else 2.0
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(0, 0, 0, 170), width + 2.5))
            painter.drawRect(rect)
            painter.setPen(QPen(color, width))
            painter.drawRect(rect)
            if i == self._hover:
                painter.fillRect(rect, qcolor(placed.index, 40))
            text = box_name(placed.index, placed.box)
            tw, th = metrics.horizontalAdvance(text) + 8, metrics.height() + 2
            x = min(max(rect.left() - 1, 0.0), max(bounds.width() - tw, 0.0))
            y = rect.top() - th - 1 if rect.top() - th - 1 >= 0 else rect.top() + 1
            tag = QRectF(x, y, tw, th)
            painter.setPen(QPen(QColor(0, 0, 0, 170), 1))
            painter.setBrush(color)
            painter.drawRoundedRect(tag, 3, 3)
            painter.setPen(QColor(*text_color_on(color_for(placed.index))))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_selection(self, painter: QPainter, selection: QRectF, target: QRectF) -> None:
        shade = QColor(0, 0, 0, 90)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.fillRect(QRectF(target.left(), target.top(), target.width(), selection.top() - target.top()), shade)
        painter.fillRect(
            QRectF(target.left(), selection.bottom(), target.width(), target.bottom() - selection.bottom()), shade
        )
        painter.fillRect(
            QRectF(target.left(), selection.top(), selection.left() - target.left(), selection.height()), shade
        )
        painter.fillRect(
            QRectF(selection.right(), selection.top(), target.right() - selection.right(), selection.height()), shade
        )
        pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0), 3))
        painter.drawRect(selection)
        painter.setPen(pen)
        painter.drawRect(selection)

    # -- mouse --------------------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._press is not None and self.selectable:
            if (pos - self._press).manhattanLength() >= DRAG_THRESHOLD:
                self._drag = QRectF(self._press, pos).normalized().intersected(self.image_rect())
                self.update()
            return
        hover = self.box_at(pos)
        if hover != self._hover:
            self._hover = hover
            self.setToolTip(self._tooltip(hover))
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._press is None:
            super().mouseReleaseEvent(event)
            return
        press, self._press = self._press, None
        drag, self._drag = self._drag, None
        if drag is not None and self.selectable:
            region = self._region(drag)
            if region is not None:
                self.selection = region
                self.update()
                self.region_selected.emit(region)
                return
        hit = self.box_at(press)
        if hit is not None:
            self.box_clicked.emit(hit)
        else:
            self.image_clicked.emit()

    def _region(self, rect: QRectF) -> PixelBox | None:
        x1, y1 = self.to_source(rect.topLeft())
        x2, y2 = self.to_source(rect.bottomRight())
        left, top, right, bottom = round(x1), round(y1), round(x2), round(y2)
        if right - left < 2 or bottom - top < 2:
            return None
        return PixelBox(left, top, right, bottom)

    def _tooltip(self, index: int | None) -> str:
        if index is None:
            return "Drag to select a region to ask about" if self.selectable else "Click to open large"
        placed = self.boxes[index]
        return f"Box {box_name(placed.index, placed.box)}: click to ask about this region"

    def leaveEvent(self, event) -> None:
        if self._hover is not None:
            self._hover = None
            self.update()
        super().leaveEvent(event)


def text_button(text: str, tip: str, *, checkable: bool = False) -> QToolButton:
    button = QToolButton()
    button.setObjectName("cardButton")
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setCheckable(checkable)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def coordinates_text(images: Sequence[ImageBoxes], unplaced: Sequence[Placed] = ()) -> str:
    """What "Copy coordinates" puts on the clipboard: one line per box, grouped by image."""
    lines: list[str] = []
    for item in images:
        if item.size is None:
            continue
        lines.append(f"{item.title} (image {item.image_number}):")
        for placed in item.boxes:
            line = describe_box(placed.index, placed.box, *item.size, item.title, item.capture)
            lines.append(f"  {line}")
    if unplaced:
        lines.append("Not on an attached image (0..1000 of the image):")
        for placed in unplaced:
            b = placed.box
            name = box_name(placed.index, b)
            lines.append(f"  {name}: [{b.x1:g}, {b.y1:g}, {b.x2:g}, {b.y2:g}]")
    return "\n".join(lines)


def place_groups(
    groups: Sequence[Boxes], found: QuestionImages, *, loading: bool = False
) -> tuple[list[ImageBoxes], list[Placed]]:
    """Groups onto the images the model saw (by the model's reference, else in order); boxes numbered in order.

    A rendered page whose pixels are still being rendered again (``loading``) keeps its boxes, to be drawn when
    they come; one whose pixels could not be had, or a file that cannot be read, gives coordinates only."""
    targets = found.assign(groups)
    by_image: dict[int, ImageBoxes] = {}
    unplaced: list[Placed] = []
    index = 0
    for group, target in zip(groups, targets, strict=True):
        for box in group.boxes:
            placed = Placed(index, box)
            index += 1
            if target is None:
                unplaced.append(placed)
            else:
                item = by_image.setdefault(target, ImageBoxes(found.images[target], target + 1, []))
                item.boxes.append(placed)
    items = [by_image[k] for k in sorted(by_image)]
    for item in items:
        if item.image.needs_pixels and not loading:
            log.info("boxes cannot be drawn: %s was not rendered again", item.title)
            unplaced.extend(item.boxes)
            continue
        try:
            item.size = item.image.source_size()
        except GroundingError as e:
            log.info("boxes cannot be placed: %s", e)
            unplaced.extend(item.boxes)
            continue
        item.capture = read_capture_metadata(item.path) if item.image.is_file else None
    return [i for i in items if i.size is not None], sorted(unplaced, key=lambda p: p.index)


class BoxesPanel(QFrame):
    """Under an answer: its boxes on the images they refer to, a show/hide toggle, "Copy coordinates", and a
    large view. A click on a box asks about that region; a click elsewhere opens the image large."""

    region_cropped = Signal(object)  # Path of the cropped image
    message = Signal(str)  # for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("boxesPanel")
        self.setAccessibleName("boxes")
        self.groups: list[Boxes] = []
        self.found: QuestionImages | None = None
        self.loading = False
        self.images: list[ImageBoxes] = []
        self.unplaced: list[Placed] = []
        self.canvases: list[BoxCanvas] = []
        self.caption = QLabel("")
        self.caption.setObjectName("cardMeta")
        self.caption.setWordWrap(True)
        self.toggle = text_button("Hide boxes", "Show or hide the boxes on the image", checkable=True)
        self.toggle.setChecked(True)
        self.toggle.toggled.connect(self.set_show_boxes)
        self.copy = text_button("Copy coordinates", "Copy the boxes' coordinates (pixels, and screen for screenshots)")
        self.copy.clicked.connect(self.copy_coordinates)
        self.on_screen = text_button(
            "Show on screen", "Show the boxes where they are on the screen now (Esc or a click hides them)"
        )
        self.on_screen.clicked.connect(self.show_on_screen)
        self.on_screen.setVisible(False)
        self.screen_overlay: ScreenBoxes | None = None
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.caption, 1)
        header.addWidget(self.toggle)
        header.addWidget(self.on_screen)
        header.addWidget(self.copy)
        self.column = QVBoxLayout()
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 2)
        layout.setSpacing(4)
        layout.addLayout(self.column)
        layout.addLayout(header)
        self.setVisible(False)

    def show_boxes(self) -> bool:
        return self.toggle.isChecked()

    def set_groups(self, groups: Sequence[Boxes], found: QuestionImages | None, *, loading: bool = False) -> None:
        """Shows ``groups`` on the images the model saw. ``found`` is ``None`` while they are still being found
        (a document's pages prepared on a worker); ``loading`` while some pages' pixels are being rendered."""
        self.groups = list(groups)
        self.found, self.loading = found, loading
        if found is None:
            self.images, self.unplaced = [], []
        else:
            self.images, self.unplaced = place_groups(self.groups, found, loading=loading)
        for canvas in self.canvases:
            self.column.removeWidget(canvas)
            canvas.deleteLater()
        self.canvases = []
        for item in self.images:
            if item.image.needs_pixels:
                continue  # drawn when its page has been rendered again
            assert item.size is not None  # place_groups returns only the images it could size
            preview = load_seen(item.image, INLINE_DECODE_SIDE)
            canvas = BoxCanvas(preview, item.size, item.boxes, max_height=INLINE_MAX_HEIGHT)
            canvas.setAccessibleName(f"boxes on {item.title}")
            canvas.set_show_boxes(self.show_boxes())
            canvas.box_clicked.connect(lambda i, item=item: self.ask_about_box(item, i))
            canvas.image_clicked.connect(lambda item=item: self.open_large(item))
            self.column.addWidget(canvas)
            self.canvases.append(canvas)
        self.caption.setText(self._caption())
        self.toggle.setVisible(bool(self.canvases))  # nothing to hide when no box is drawn
        self.on_screen.setVisible(bool(self.screen_boxes()))
        self.setVisible(bool(self.groups))

    def _caption(self) -> str:
        if self.found is None:
            count = sum(len(g.boxes) for g in self.groups)
            return f"{count} box{'es' if count != 1 else ''}: finding the pages they are on…"
        parts = []
        for item in self.images:
            count = len(item.boxes)
            text = f"{count:,} box{'es' if count != 1 else ''} on {item.title}"
            if count > LABELLED_BOXES:
                text += f" (numbered: the first {LABELLED_BOXES}; Copy coordinates lists all)"
            if item.capture is not None and item.capture.screens:
                numbers = sorted({box_on_screen(p.box, item.capture).number or 0 for p in item.boxes} - {0})
                if numbers:
                    text += f" (screen {', '.join(map(str, numbers))})"
            if item.image.needs_pixels:
                text += " (rendering the page…)"
            parts.append(text)
        if self.unplaced:
            count = len(self.unplaced)
            text = f"{count} box{'es' if count != 1 else ''} with no image to draw on (coordinates only)"
            if self.found.problem:
                text += f": {self.found.problem}"
            parts.append(text)
        return " · ".join(parts)

    def set_show_boxes(self, show: bool) -> None:
        self.toggle.setText("Hide boxes" if show else "Show boxes")
        if self.toggle.isChecked() != show:
            self.toggle.setChecked(show)
        for canvas in self.canvases:
            canvas.set_show_boxes(show)

    def coordinates_text(self) -> str:
        return coordinates_text(self.images, self.unplaced)

    def screen_boxes(self) -> list[ScreenBox]:
        """The boxes on screenshots that say where on the screen they were taken."""
        return [
            ScreenBox(placed.index, placed.box, item.capture)
            for item in self.images
            if item.capture is not None and item.capture.screens
            for placed in item.boxes
        ]

    def show_on_screen(self) -> None:
        """The boxes on the live screen, where the screenshots' pixels were, until Esc or a click."""
        self.screen_overlay, message = show_on_screen(self.screen_boxes(), self)
        self.message.emit(message)

    def copy_coordinates(self) -> None:
        QGuiApplication.clipboard().setText(self.coordinates_text())
        self.message.emit("Coordinates copied")

    def ask_about_box(self, item: ImageBoxes, position: int) -> None:
        self._crop(lambda: crop_seen_box(item.image, item.boxes[position].box))

    def _crop(self, make) -> None:
        try:
            path = make()
        except GroundingError as e:
            self.message.emit(str(e))
            return
        self.region_cropped.emit(path)

    def open_large(self, item: ImageBoxes) -> None:
        viewer = BoxViewer(item.image, item.boxes, self.window(), show_boxes=self.show_boxes(), capture=item.capture)
        viewer.region_cropped.connect(self.region_cropped)
        viewer.boxes_toggled.connect(self.set_show_boxes)
        viewer.open()


class BoxViewer(QDialog):
    """An image large, zoomed to fit (or in and out), with its boxes. Dragging a rectangle selects a region;
    "Ask about this region" (or a click on a box) crops the original (a PDF page: renders that part of the page
    again, sharper) and hands it back as an attachment. ``source`` is an attached file or an image the model
    saw."""

    region_cropped = Signal(object)
    boxes_toggled = Signal(bool)

    def __init__(
        self,
        source: Path | SeenImage,
        boxes: Sequence[Placed] = (),
        parent: QWidget | None = None,
        *,
        show_boxes: bool = True,
        capture: CaptureInfo | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("boxViewer")
        if isinstance(source, SeenImage):
            self.image = source
        else:
            self.image = SeenImage(Attachment(Path(source), kind="image"), 0, "image")
        self.setWindowTitle(self.image.title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.path = self.image.path
        self.capture = capture
        self.zoom: float | None = None  # None: fit to the window
        try:
            size = self.image.source_size()
        except GroundingError:
            size = (1, 1)
        self.canvas = BoxCanvas(load_seen(self.image, VIEWER_DECODE_SIDE), size, boxes, selectable=True)
        self.canvas.set_show_boxes(show_boxes)
        self.canvas.region_selected.connect(self._selected)
        self.canvas.box_clicked.connect(self._box_clicked)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("viewerArea")
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll_area.setWidget(self.canvas)
        self.scroll_area.setWidgetResizable(False)
        self.scroll_area.viewport().installEventFilter(self)

        self.fit = text_button("Fit", "Zoom to fit the window (0)")
        self.fit.clicked.connect(lambda: self.set_zoom(None))
        self.zoom_out = text_button("−", "Zoom out (-)")
        self.zoom_out.clicked.connect(lambda: self.set_zoom(self.current_zoom() / 1.25))
        self.zoom_in = text_button("+", "Zoom in (+)")
        self.zoom_in.clicked.connect(lambda: self.set_zoom(self.current_zoom() * 1.25))
        self.actual = text_button("100%", "Actual pixels (1)")
        self.actual.clicked.connect(lambda: self.set_zoom(1.0))
        self.zoom_label = QLabel("")
        self.zoom_label.setObjectName("cardMeta")
        self.toggle = text_button("Hide boxes", "Show or hide the boxes", checkable=True)
        self.toggle.setChecked(show_boxes)
        self.toggle.setText("Hide boxes" if show_boxes else "Show boxes")
        self.toggle.toggled.connect(self._toggle)
        self.toggle.setVisible(bool(boxes))
        self.ask = text_button("Ask about this region", "Attach the selected region to the next question")
        self.ask.setEnabled(False)
        self.ask.clicked.connect(self.ask_selection)
        self.hint = QLabel(
            "Drag a rectangle to select a region" + (", or click a box, " if boxes else " ") + "to ask about it."
        )
        self.hint.setObjectName("cardMeta")
        bar = QHBoxLayout()
        for widget in (self.fit, self.zoom_out, self.zoom_in, self.actual, self.zoom_label):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.hint)
        bar.addWidget(self.toggle)
        bar.addWidget(self.ask)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(bar)
        layout.addWidget(self.scroll_area, 1)
        for keys, slot in (
            ("0", lambda: self.set_zoom(None)),
            ("1", lambda: self.set_zoom(1.0)),
            ("+", lambda: self.set_zoom(self.current_zoom() * 1.25)),
            ("=", lambda: self.set_zoom(self.current_zoom() * 1.25)),
            ("-", lambda: self.set_zoom(self.current_zoom() / 1.25)),
        ):
            QShortcut(QKeySequence(keys), self).activated.connect(slot)
        screen = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        self.resize(int(screen.width() * 0.8), int(screen.height() * 0.85))
        QTimer.singleShot(0, self._layout_canvas)

    def fit_zoom(self) -> float:
        sw, sh = self.canvas.source_size
        view = self.scroll_area.viewport().size()
        return max(min((view.width() - 2) / sw, (view.height() - 2) / sh), 0.01)

    def current_zoom(self) -> float:
        return self.zoom if self.zoom is not None else self.fit_zoom()

    def set_zoom(self, zoom: float | None) -> None:
        self.zoom = None if zoom is None else min(max(zoom, 0.05), 16.0)
        self._layout_canvas()

    def _layout_canvas(self) -> None:
        sw, sh = self.canvas.source_size
        z = self.current_zoom()
        self.canvas.setFixedSize(max(1, round(sw * z)), max(1, round(sh * z)))
        self.zoom_label.setText(f"{z * 100:.0f}%" + (" (fit)" if self.zoom is None else ""))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.scroll_area.viewport() and event.type() == QEvent.Type.Resize and self.zoom is None:
            self._layout_canvas()
        return super().eventFilter(watched, event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            step = 1.25 if event.angleDelta().y() > 0 else 1 / 1.25
            self.set_zoom(self.current_zoom() * step)
            event.accept()
            return
        super().wheelEvent(event)

    def _toggle(self, show: bool) -> None:
        self.toggle.setText("Hide boxes" if show else "Show boxes")
        self.canvas.set_show_boxes(show)
        self.boxes_toggled.emit(show)

    def _selected(self, region: PixelBox) -> None:
        self.ask.setEnabled(True)
        self.hint.setText(f"Selected {region.width}×{region.height} px at ({region.left}, {region.top}).")

    def ask_selection(self) -> None:
        if self.canvas.selection is not None:
            self._finish(lambda: crop_seen(self.image, self.canvas.selection))

    def _box_clicked(self, position: int) -> None:
        self._finish(lambda: crop_seen_box(self.image, self.canvas.boxes[position].box))

    def _finish(self, make) -> None:
        try:
            path = make()
        except GroundingError as e:
            self.hint.setText(str(e))
            return
        self.region_cropped.emit(path)
        self.accept()
