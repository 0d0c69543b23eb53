"""Region selection: one frameless window per screen, each painted with that screen's own frozen capture.

A single transparent window across all monitors misplaces itself on mixed-DPI layouts and is not allowed on
Wayland (normcap's ADR 002); a window per QScreen showing a still image works everywhere, and what the person
selects is exactly what gets cropped, because it is cropped from the very image they looked at.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QScreen,
)
from PySide6.QtWidgets import QWidget

from app.core.capture.geometry import Screen, SelectionF, device_factors, selection_to_device

MIN_DRAG = 3.0
CAPTURE_UI_PROPERTY = "glmv_capture_ui"


class RegionOverlay(QWidget):
    accepted = Signal(object)  # SelectionF, global logical coordinates
    cancelled = Signal()

    def __init__(self, screen: QScreen, info: Screen, image: QImage, hint: str = "") -> None:
        super().__init__(None)
        self.info = info
        self.image = image
        self.hint = hint
        self.setProperty(CAPTURE_UI_PROPERTY, True)
        self.setWindowFlags(
            Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.Tool
            | Qt.WindowType.X11BypassWindowManagerHint
        )
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMouseTracking(True)
        self.setWindowTitle("Select a region")
        self.setScreen(screen)
        g = info.geometry
        self.setGeometry(g.x, g.y, g.width, g.height)
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self._cursor: QPointF | None = None

    def selection(self) -> SelectionF | None:
        if self._start is None or self._end is None:
            return None
        g = self.info.geometry
        return SelectionF.from_points(
            g.x + self._start.x(), g.y + self._start.y(), g.x + self._end.x(), g.y + self._end.y()
        )

    def _clamped(self, p: QPointF) -> QPointF:
        return QPointF(min(max(p.x(), 0.0), float(self.width())), min(max(p.y(), 0.0), float(self.height())))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.cancelled.emit()
        elif event.button() == Qt.MouseButton.LeftButton:
            self._start = self._end = self._clamped(event.position())
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._cursor = self._clamped(event.position())
        if self._start is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._end = self._cursor
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._start is None:
            return
        self._end = self._clamped(event.position())
        selection = self.selection()
        if selection is not None and selection.width >= MIN_DRAG and selection.height >= MIN_DRAG:
            self.accepted.emit(selection)
        else:
            self._start = self._end = None
            self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            selection = self.selection()
            if selection is None or selection.width < MIN_DRAG or selection.height < MIN_DRAG:
                self.accept_whole_screen()
            else:
                self.accepted.emit(selection)
        else:
            super().keyPressEvent(event)

    def accept_whole_screen(self) -> None:
        g = self.info.geometry
        self.accepted.emit(SelectionF(g.x, g.y, g.width, g.height))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        whole = QRectF(self.rect())
        # Each image pixel exactly over the screen pixel it was, by the factors selections map with; where the
        # scale does not divide the screen's size the window reaches a fraction of a pixel past the image.
        fx, fy = device_factors(self.info)
        shown = QRectF(0, 0, self.image.width() / fx, self.image.height() / fy)
        if not shown.contains(whole):
            p.fillRect(whole, QColor(0, 0, 0))
        p.drawImage(shown, self.image)
        p.fillRect(whole, QColor(0, 0, 0, 110))
        selection = self.selection()
        if selection is not None:
            g = self.info.geometry
            local = QRectF(selection.x - g.x, selection.y - g.y, selection.width, selection.height)
            device = selection_to_device(selection, self.info)
            source = QRectF(device.x, device.y, device.width, device.height)
            p.drawImage(QRectF(device.x / fx, device.y / fy, device.width / fx, device.height / fy), self.image, source)
            p.setPen(QPen(QColor(80, 160, 255), 1))
            p.drawRect(local)
            p.setPen(QColor(255, 255, 255))
            label = f"{device.width} × {device.height}"
            p.drawText(local.topLeft() + QPointF(4, -6 if local.top() > 20 else 16), label)
        if self._cursor is not None:
            p.setPen(QPen(QColor(255, 255, 255, 160), 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(self._cursor.x(), 0), QPointF(self._cursor.x(), self.height()))
            p.drawLine(QPointF(0, self._cursor.y()), QPointF(self.width(), self._cursor.y()))
        if self.hint and self._start is None:
            self._paint_hint(p)
        p.end()

    def _paint_hint(self, p: QPainter) -> None:
        """What to do, at the top of the screen until the drag begins (the overlay is never captured itself)."""
        text = f"Drag across {self.hint} · Enter: the whole screen · Esc: cancel"
        metrics = p.fontMetrics()
        width, height = metrics.horizontalAdvance(text) + 32, metrics.height() + 16
        box = QRectF((self.width() - width) / 2, 24, width, height)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(20, 20, 20, 210))
        p.drawRoundedRect(box, 8, 8)
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


class RegionSelector(QObject):
    """The overlays of all screens as one selection; the first accept or cancel closes them all."""

    selected = Signal(object, object)  # Screen (with its capture's size), SelectionF
    cancelled = Signal()

    def __init__(
        self, screens: list[tuple[QScreen, Screen, QImage]], parent: QObject | None = None, *, hint: str = ""
    ) -> None:
        super().__init__(parent)
        self.overlays = [RegionOverlay(q, info, image, hint) for q, info, image in screens]
        for overlay in self.overlays:
            overlay.accepted.connect(lambda sel, o=overlay: self._accept(o, sel))
            overlay.cancelled.connect(self._cancel)
        self._open = False

    def show(self) -> None:
        self._open = True
        cursor_screen = QGuiApplication.screenAt(QCursor.pos())
        # A Wayland window cannot place itself; asked to be full screen it covers its own screen exactly.
        wayland = QGuiApplication.platformName().startswith("wayland")
        for overlay in self.overlays:
            if wayland:
                overlay.showFullScreen()
            else:
                overlay.show()
            overlay.raise_()
        focus = next((o for o in self.overlays if o.screen() is cursor_screen), None) or self.overlays[0]
        focus.activateWindow()
        focus.setFocus()

    def accept_screen_under_cursor(self) -> None:
        """Select the whole screen the cursor is on, as Enter there would."""
        cursor_screen = QGuiApplication.screenAt(QCursor.pos())
        overlay = next((o for o in self.overlays if o.screen() is cursor_screen), None) or self.overlays[0]
        overlay.accept_whole_screen()

    def close(self) -> None:
        """Take the overlays down without a result (the capture ended some other way)."""
        self._close()

    def _close(self) -> None:
        self._open = False
        for overlay in self.overlays:
            overlay.close()
        self.overlays = []

    def _accept(self, overlay: RegionOverlay, selection: SelectionF) -> None:
        if self._open:
            info = overlay.info
            self._close()
            self.selected.emit(info, selection)

    def _cancel(self) -> None:
        if self._open:
            self._close()
            self.cancelled.emit()
