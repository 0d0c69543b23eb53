"""The floating window and the tray build offscreen with their widgets and speak through their signals."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.ui.floating import SIZE, FloatingWindow
from app.ui.tray import Tray


def test_floating_window_builds_with_its_widgets(qtbot):
    w = FloatingWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert (w.width(), w.height()) == SIZE
    assert w.pinned() and w.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    for button in (w.capture_button, w.record_button, w.attach_button, w.send_button, w.pin_button):
        assert button.isVisible() and button.toolTip()
    assert w.answer.isVisible() and w.input.isVisible()
    assert not w.thinking.isVisible()


def test_composer_signals(qtbot):
    w = FloatingWindow()
    qtbot.addWidget(w)
    w.show()
    drafts: list[str] = []
    w.draft_changed.connect(drafts.append)
    qtbot.keyClicks(w.input, "what is this?")
    assert drafts[-1] == "what is this?" and w.draft() == "what is this?"
    with qtbot.waitSignal(w.submitted) as sent:
        qtbot.keyClick(w.input, Qt.Key.Key_Return)
    assert sent.args == ["what is this?"]
    for button, signal in (
        (w.capture_button, w.capture_requested),
        (w.record_button, w.record_requested),
        (w.attach_button, w.attach_requested),
        (w.open_main_button, w.open_main_requested),
    ):
        with qtbot.waitSignal(signal, timeout=1000):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    w.input.clear()
    with qtbot.assertNotEmitted(w.submitted):
        qtbot.keyClick(w.input, Qt.Key.Key_Return)


def test_answer_thinking_and_draft_from_the_main_window(qtbot):
    w = FloatingWindow()
    qtbot.addWidget(w)
    w.show()
    w.set_answer("The chart shows **revenue** rising.\n\n<script>alert(1)</script>")
    html = w.answer.toHtml()
    assert "revenue" in w.answer.toPlainText() and "font-weight" in html
    assert "<script>" not in html
    w.set_thinking("first the axes " * 40 + "then the bars", active=True)
    assert w.thinking.isVisible()
    line = w.thinking.text()
    assert line.endswith("then the bars") and "…" in line and "\n" not in line
    assert w.thinking.fontMetrics().horizontalAdvance(line) <= w.thinking.width() + 2
    w.set_thinking("loop " * 400_000 + "\nand at last the legend", active=True)  # 2 MB so far: its end is shown
    assert w.thinking.text().endswith("loop loop and at last the legend")
    w.set_thinking("", active=False)
    assert not w.thinking.isVisible()
    w.set_draft("kept draft")
    assert w.input.text() == "kept draft"
    w.set_recording(True)
    assert "Stop" in w.record_button.toolTip()
    w.set_busy(True)
    assert not w.send_button.isEnabled()
    w.activateWindow()
    w.focus_composer()
    qtbot.waitUntil(lambda: w.input.hasFocus())


def test_pin_toggle_and_position(qtbot):
    w = FloatingWindow()
    qtbot.addWidget(w)
    w.show()
    changes: list[bool] = []
    w.pinned_changed.connect(changes.append)
    qtbot.mouseClick(w.pin_button, Qt.MouseButton.LeftButton)
    assert changes == [False] and not (w.windowFlags() & Qt.WindowType.WindowStaysOnTopHint)
    assert w.isVisible(), "changing the flag must not leave the window hidden"
    area = QGuiApplication.primaryScreen().availableGeometry()
    w.set_position(area.x() + 40, area.y() + 50)
    assert w.position() == (area.x() + 40, area.y() + 50)
    w.set_position(area.right() + 5000, area.bottom() + 5000)
    x, y = w.position()
    assert area.contains(x, y), "a position on a monitor that is gone falls back onto the primary screen"


def test_tray_menu_emits_its_actions(qtbot):
    tray = Tray()
    seen: list[str] = []
    for name in ("capture_full", "capture_region", "capture_window", "record", "show_window", "quit"):
        getattr(tray, name).connect(lambda n=name: seen.append(n))
        tray.actions[name].trigger()
    assert seen == ["capture_full", "capture_region", "capture_window", "record", "show_window", "quit"]
    assert tray.show() == Tray.available()
    tray.set_recording(True, "00:05")
    assert tray.actions["record"].text() == "Stop recording" and "00:05" in tray.icon.toolTip()


def test_the_first_place_is_a_corner_clear_of_the_main_window():
    from PySide6.QtCore import QPoint, QRect, QSize

    from app.ui.floating import MARGIN, first_place

    area, size = QRect(0, 0, 1600, 1000), QSize(360, 260)
    bottom_right = QPoint(1600 - 360 - MARGIN, 1000 - 260 - MARGIN)
    assert first_place(area, size, QRect(0, 0, 1100, 640)) == bottom_right
    # The main window over the bottom right, then over the whole bottom: the next corner clear of it.
    assert first_place(area, size, QRect(700, 400, 900, 600)) == QPoint(MARGIN, bottom_right.y())
    assert first_place(area, size, QRect(0, 400, 1600, 600)) == QPoint(bottom_right.x(), MARGIN)
    # Nowhere is clear: the corner that covers the least of it.
    assert first_place(area, size, QRect(0, 0, 1280, 820)) == bottom_right
    # A second monitor to the right: its own corners.
    assert first_place(QRect(1600, 0, 1920, 1080), size, QRect(0, 0, 1280, 820)).x() == 1600 + 1920 - 360 - MARGIN


def test_a_long_line_of_thinking_never_widens_the_window(qtbot):
    """The thinking line is elided to the window: set while hidden, it had taken a never-shown label's default
    640 px, and the window grew to 649 px, past the screen's edge at its bottom-right place."""
    window = FloatingWindow()
    qtbot.addWidget(window)
    window.set_thinking("Reading the screen. " * 200, active=False)
    window.show()
    qtbot.waitExposed(window)
    window.set_thinking("Reading the screen. " * 200, active=True)
    qtbot.wait(50)
    assert window.width() == SIZE[0] and window.minimumSizeHint().width() <= SIZE[0]
    assert window.thinking.isVisible() and window.thinking.text().startswith("…")
