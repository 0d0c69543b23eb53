"""Boxes on the live screen ("Show on screen" under an answer about a screenshot): where each box goes for every
scale and monitor, and the real widgets (offscreen): the button, the windows, what they draw and where, what
closes them, and our own windows put out of the way meanwhile. The pixels on a real X server, through the whole
app, are tests/app/test_app_screen_boxes.py's."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PIL import Image
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.core.capture.geometry import Rect, Screen, SelectionF
from app.core.capture.metadata import CaptureInfo, capture_png_info
from app.core.events import Box, Boxes
from app.core.grounding.drawing import color_for
from app.core.grounding.screen import box_on_screen
from app.core.session import Turn
from app.ui import screen_boxes, theme
from app.ui.capture.qtscreens import all_screens
from app.ui.screen_boxes import (
    BAND,
    FRAME,
    HINT,
    INNER,
    OVERLAY_TITLE,
    ScreenBox,
    ScreenBoxesWindow,
    place,
    placement_message,
    show_on_screen,
)
from app.ui.transcript import AnswerCard, Transcript, UserCard

pytestmark = pytest.mark.gui

PRIMARY = Screen.from_qt("M1", Rect(0, 0, 1920, 1080), 1.0)
# A 1280x1024 monitor at 200 % right of the primary: Qt keeps its native origin and halves its size.
SECOND = Screen.from_qt("M2", Rect(1920, 0, 640, 512), 2.0)


def on(capture: Rect, *boxes: Box, screens=(PRIMARY, SECOND)) -> list[ScreenBox]:
    info = CaptureInfo(capture, tuple(screens))
    return [ScreenBox(i, box, info) for i, box in enumerate(boxes)]


def test_a_box_on_the_primary_at_scale_1_is_its_pixels():
    (mark,) = place(on(Rect(1000, 300, 800, 500), Box(100, 100, 400, 500)), [PRIMARY, SECOND]).marks
    assert (mark.screen, mark.device, mark.rect) == (0, Rect(1080, 350, 240, 200), Rect(1080, 350, 240, 200))


def test_a_box_on_a_second_monitor_at_scale_2_is_in_its_logical_pixels():
    # 800x600 native pixels captured at (2100, 100); the box is (2300, 250) 400x300 there: logical 1920 + 380 / 2.
    placement = place(on(Rect(2100, 100, 800, 600), Box(250, 250, 750, 750)), [PRIMARY, SECOND])
    (mark,) = placement.marks
    assert (mark.screen, mark.device, mark.rect) == (1, Rect(2300, 250, 400, 300), Rect(2110, 125, 200, 150))
    assert not placement.changed and not placement.off_screen
    # The screens as the capture's metadata has them: the same place by the scale recorded then.
    then = box_on_screen(Box(250, 250, 750, 750), CaptureInfo(Rect(2100, 100, 800, 600), (PRIMARY, SECOND)))
    assert (then.number, then.logical) == (2, SelectionF(2110, 125, 200, 150))


def test_at_scale_2_an_odd_pixel_edge_rounds_outwards_so_the_outline_never_covers_the_box():
    (mark,) = place(on(Rect(2101, 101, 800, 600), Box(250, 250, 750, 750)), [PRIMARY, SECOND]).marks
    assert mark.device == Rect(2301, 251, 400, 300)
    # 2110.5 .. 2310.5 logical: 2110 .. 2311, one device pixel more on each odd side.
    assert mark.rect == Rect(2110, 125, 201, 151)


def test_a_primary_at_scale_2_and_a_second_at_1_keep_their_native_origins():
    primary = Screen.from_qt("M1", Rect(0, 0, 960, 540), 2.0)
    second = Screen.from_qt("M2", Rect(1920, 0, 1280, 1024), 1.0)
    boxes = on(Rect(0, 0, 1920, 1080), Box(500, 500, 600, 600), screens=(primary, second))
    boxes += on(Rect(1920, 0, 1280, 1024), Box(500, 500, 600, 600), screens=(primary, second))
    first, other = place(boxes, [primary, second]).marks
    assert (first.screen, first.rect) == (0, Rect(480, 270, 96, 54))
    assert (other.screen, other.rect) == (1, Rect(2560, 512, 128, 102))


def test_a_box_whose_screen_is_not_connected_now_is_told_not_drawn():
    boxes = on(Rect(2100, 100, 800, 600), Box(250, 250, 750, 750)) + on(Rect(0, 0, 1920, 1080), Box(0, 0, 10, 10))
    placement = place(boxes, [PRIMARY])
    assert [m.index for m in placement.marks] == [0] and [b.box for b in placement.off_screen] == [boxes[0].box]
    assert placement_message(placement) == (
        f"1 box on screen · {HINT} · 1 box was on a screen that is not connected now (M2)"
    )


def test_screens_changed_since_the_screenshot_are_said_and_the_box_goes_where_its_pixels_were():
    now = Screen.from_qt("M1", Rect(0, 0, 1280, 720), 1.5)  # the same panel, scaled up since
    placement = place(on(Rect(0, 0, 1920, 1080), Box(500, 500, 600, 600)), [now])
    assert placement.changed and placement.marks[0].rect == Rect(640, 360, 128, 72)
    assert placement_message(placement).endswith("the boxes are where its pixels were")


# ------------------------------------------------------------------------------------------ the widgets


@pytest.fixture
def screen_now(qtbot):
    """The offscreen platform's one screen, as the app sees it."""
    ((qscreen, info),) = all_screens()
    return qscreen, info


@pytest.fixture(autouse=True)
def nothing_left_on_screen():
    yield
    for overlay in list(screen_boxes._shown):
        overlay.close()
    assert not overlay_windows()


@pytest.fixture
def takes_input(monkeypatch):
    """Where no global listener can run (Wayland, or macOS without the permission): the windows take the input.
    The click-through windows, with pynput watching, are tested on a real X server."""
    monkeypatch.setattr(screen_boxes, "default_watcher", lambda: None)


def overlay_windows() -> list[ScreenBoxesWindow]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, ScreenBoxesWindow) and w.isVisible()]


def shot(path: Path, capture: Rect | None, screens: tuple[Screen, ...]) -> Path:
    image = Image.new("RGB", (capture.width, capture.height) if capture else (400, 300), (240, 240, 240))
    image.save(path, pnginfo=capture_png_info(capture, screens) if capture else None)
    return path


def answer_about(qtbot, images: list[Path], boxes: list[Box]) -> AnswerCard:
    colors = theme.colors(False)
    view = Transcript()
    view.resize(900, 700)
    qtbot.addWidget(view)
    view.show()
    view.add(UserCard("q1", "where is export?", images, colors), user=True)
    card = AnswerCard(Turn("a1", "assistant", model="glm-4.6v"), colors)
    view.add(card)
    card.set_boxes([Boxes(tuple(boxes))])
    return card


def pixel(image, x: int, y: int) -> tuple[int, int, int, int]:
    c = QColor(image.pixel(x, y))
    return c.red(), c.green(), c.blue(), QColor.fromRgba(image.pixel(x, y)).alpha()


def test_show_on_screen_is_offered_only_for_screenshots_that_say_where_they_were(qtbot, tmp_path, screen_now):
    _, info = screen_now
    with_capture = shot(tmp_path / "capture.png", Rect(100, 50, 400, 300), (info,))
    plain = shot(tmp_path / "photo.png", None, ())
    no_screens = shot(tmp_path / "portal.png", Rect(0, 0, 400, 300), ())
    for image, offered in ((with_capture, True), (plain, False), (no_screens, False)):
        card = answer_about(qtbot, [image], [Box(250, 250, 750, 750)])
        panel = card.boxes_panel
        assert panel.isVisibleTo(card) and panel.on_screen.isVisibleTo(panel) is offered, image.name


def test_the_button_draws_the_box_around_its_screen_pixels_and_esc_or_a_click_takes_it_away(
    qtbot, tmp_path, screen_now, takes_input
):
    qscreen, info = screen_now
    capture = Rect(100, 50, 400, 300)
    card = answer_about(qtbot, [shot(tmp_path / "capture.png", capture, (info,))], [Box(250, 250, 750, 750, "OK")])
    said: list[str] = []
    card.copied.connect(said.append)
    panel = card.boxes_panel
    qtbot.mouseClick(panel.on_screen, Qt.MouseButton.LeftButton)
    (window,) = overlay_windows()
    assert said == [f"1 box on screen · {HINT}"]
    assert window.windowTitle() == OVERLAY_TITLE and window.screen() is qscreen
    g = info.geometry
    assert (window.x(), window.y(), window.width(), window.height()) == (g.x, g.y, g.width, g.height)
    # The box is (200, 125) 200x150 on the screen: the outline is outside it, the box itself left clear.
    ((mark, _, tag),) = window.boxes
    assert mark.rect == Rect(200, 125, 200, 150)
    image = window.grab().toImage()
    color = (*color_for(0), 255)
    for x, y in ((200 - INNER - 1, 200), (200 - INNER - BAND, 200), (400 + INNER, 200), (300, 125 - INNER - 1)):
        assert pixel(image, x, y) == color, (x, y)
    assert pixel(image, 200 - 1, 200) == (0, 0, 0, 255)  # the dark line next to the box
    assert pixel(image, 300, 200)[3] == 0 and pixel(image, 200, 200)[3] == 0  # the box: the screen shows through
    assert pixel(image, 200 - FRAME - 1, 200)[3] == 0
    assert tag.bottom() < 125 - FRAME + 1 and tag.left() == 200 - FRAME

    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not overlay_windows())
    qtbot.mouseClick(panel.on_screen, Qt.MouseButton.LeftButton)
    (window,) = overlay_windows()
    with qtbot.waitSignal(panel.screen_overlay.closed) as closed:
        qtbot.mouseClick(window, Qt.MouseButton.LeftButton, pos=QPoint(700, 700))
    assert closed.args == ["click"] and not overlay_windows()


def test_click_through_windows_let_input_pass_and_are_only_their_outlines(qtbot, screen_now):
    qscreen, info = screen_now
    (mark,) = place(on(Rect(100, 50, 400, 300), Box(250, 250, 750, 750), screens=(info,)), [info]).marks
    window = ScreenBoxesWindow(qscreen, info, [mark], click_through=True)
    qtbot.addWidget(window)
    flags = window.windowFlags()
    for flag in (
        Qt.WindowType.WindowTransparentForInput,
        Qt.WindowType.WindowDoesNotAcceptFocus,
        Qt.WindowType.WindowStaysOnTopHint,
        Qt.WindowType.FramelessWindowHint,
    ):
        assert flags & flag, flag
    assert window.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
    mask = window.mask()
    assert mask == window.shape()
    assert mask.contains(QPoint(200 - 3, 200)) and mask.contains(QPoint(400 + FRAME - 1, 200))
    assert not mask.contains(QPoint(300, 200)) and not mask.contains(QPoint(200 - FRAME - 1, 200))
    assert mask.contains(window.hint.center()) and not mask.contains(QPoint(700, 700))


def test_the_hint_moves_to_the_bottom_when_a_box_is_where_it_would_be(qtbot, screen_now):
    qscreen, info = screen_now
    (mark,) = place(on(Rect(0, 0, 800, 800), Box(300, 0, 700, 100), screens=(info,)), [info]).marks
    window = ScreenBoxesWindow(qscreen, info, [mark], click_through=True)
    qtbot.addWidget(window)
    assert window.hint.bottom() == 800 - 24 - 1
    ((_, _, tag),) = window.boxes
    assert tag.top() == 80 + FRAME  # no room above the box: below it


def test_our_window_over_a_box_hides_while_it_shows_back_after_esc_minimised_after_a_click(
    qtbot, tmp_path, screen_now, takes_input
):
    _, info = screen_now
    boxes = on(Rect(100, 50, 400, 300), Box(250, 250, 750, 750), screens=(info,))
    over, aside = QWidget(), QWidget()
    for widget, at in ((over, (150, 100)), (aside, (600, 600))):
        qtbot.addWidget(widget)
        widget.setGeometry(*at, 150, 100)
        widget.show()
    overlay, _ = show_on_screen(boxes)
    assert overlay is not None and not over.isVisible() and aside.isVisible()
    (window,) = overlay_windows()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert over.isVisible() and not over.isMinimized()

    overlay, _ = show_on_screen(boxes)
    assert overlay is not None and not over.isVisible()
    qtbot.mouseClick(overlay_windows()[0], Qt.MouseButton.LeftButton, pos=QPoint(10, 700))
    assert over.isMinimized() and aside.isVisible() and not aside.isMinimized()


class KeyWindow(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[int] = []

    def keyPressEvent(self, event) -> None:
        self.keys.append(event.key())


def escape_overridden(widget: QWidget) -> bool:
    """Whether Esc is taken before any shortcut of the window sees it (Qt asks with a ShortcutOverride first)."""
    event = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier)
    event.ignore()
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_esc_in_our_own_window_ends_the_boxes_and_goes_no_further(qtbot, screen_now, takes_input):
    """The main window's Esc stops an answer being written: while boxes show, Esc is theirs."""
    _, info = screen_now
    window = KeyWindow()
    qtbot.addWidget(window)
    window.setGeometry(600, 600, 150, 100)
    window.show()
    overlay, _ = show_on_screen(on(Rect(100, 50, 400, 300), Box(250, 250, 750, 750), screens=(info,)))
    assert overlay is not None and window.isVisible()
    assert escape_overridden(window) and overlay.open  # no shortcut would fire
    with qtbot.waitSignal(overlay.closed) as closed:
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert closed.args == ["escape"] and window.keys == [] and not overlay_windows()
    assert not escape_overridden(window)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.keys == [Qt.Key.Key_Escape]  # once the boxes are gone, Esc is the window's again


def test_the_boxes_go_after_the_time_limit_or_when_another_answers_boxes_are_shown(
    qtbot, screen_now, takes_input, monkeypatch
):
    _, info = screen_now
    boxes = on(Rect(100, 50, 400, 300), Box(250, 250, 750, 750), screens=(info,))
    first, _ = show_on_screen(boxes)
    second, _ = show_on_screen(boxes)
    assert first is not None and second is not None and not first.open and second.open
    assert len(overlay_windows()) == 1
    second.close()
    monkeypatch.setattr(screen_boxes, "TIME_LIMIT_MS", 50)
    timed, _ = show_on_screen(boxes)
    assert timed is not None
    with qtbot.waitSignal(timed.closed, timeout=3000) as closed:
        pass
    assert closed.args == ["time"] and not overlay_windows()


def test_the_boxes_go_with_the_answer_they_belong_to(qtbot, tmp_path, screen_now, takes_input):
    _, info = screen_now
    card = answer_about(qtbot, [shot(tmp_path / "c.png", Rect(100, 50, 400, 300), (info,))], [Box(1, 1, 500, 500)])
    qtbot.mouseClick(card.boxes_panel.on_screen, Qt.MouseButton.LeftButton)
    overlay = card.boxes_panel.screen_overlay
    assert overlay is not None and overlay.open and overlay_windows()
    card.deleteLater()
    qtbot.waitUntil(lambda: not overlay.open)
    assert not overlay_windows()


def test_boxes_on_a_screen_not_connected_now_are_told_and_nothing_is_drawn(qtbot, tmp_path, screen_now):
    _, info = screen_now
    gone = Screen.from_qt("HDMI-2", Rect(800, 0, 1920, 1080), 1.0)
    card = answer_about(
        qtbot, [shot(tmp_path / "c.png", Rect(900, 100, 400, 300), (info, gone))], [Box(250, 250, 750, 750)]
    )
    said: list[str] = []
    card.copied.connect(said.append)
    qtbot.mouseClick(card.boxes_panel.on_screen, Qt.MouseButton.LeftButton)
    assert said == ["1 box was on a screen that is not connected now (HDMI-2)"]
    assert card.boxes_panel.screen_overlay is None and not overlay_windows()
