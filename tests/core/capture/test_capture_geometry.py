"""Selections in Qt's logical coordinates mapped to the pixels we crop, on every layout that breaks other
screenshot tools: fractional and integer scales, monitors left of or above the primary (negative origins) and
mixed scales side by side (where Qt 6 keeps native origins, leaving gaps in logical space)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.capture.geometry import (
    Rect,
    Screen,
    SelectionF,
    device_factors,
    device_to_logical,
    native_geometry,
    overlaps_any,
    screen_for_selection,
    selection_to_device,
    selection_to_virtual,
    virtual_bounds,
    with_native_from,
)
from app.core.capture.screenshotters import CaptureError, Shot, pick, scaled_crop


def qt_screen(name: str, native: Rect, scale: float) -> Screen:
    """What Qt 6 reports for a monitor: native origin kept, size divided by the scale."""
    logical = Rect(native.x, native.y, round(native.width / scale), round(native.height / scale))
    return Screen(name, logical, scale, native)


@pytest.mark.parametrize(
    ("scale", "native_size", "selection", "device"),
    [
        (1.0, (1920, 1080), (100, 100, 200, 100), (100, 100, 200, 100)),
        (1.25, (1920, 1080), (100, 100, 200, 100), (125, 125, 250, 125)),
        (1.5, (1920, 1080), (100, 100, 200, 100), (150, 150, 300, 150)),
        (2.0, (3840, 2160), (100, 100, 200, 100), (200, 200, 400, 200)),
        (1.5, (1920, 1080), (10.5, 20.25, 3.5, 7.0), (16, 30, 5, 11)),
    ],
)
def test_selection_maps_to_device_pixels_at_each_scale(scale, native_size, selection, device):
    screen = qt_screen("s", Rect(0, 0, *native_size), scale)
    assert selection_to_device(SelectionF(*selection), screen) == Rect(*device)


def test_logical_geometry_keeps_the_native_origin():
    assert native_geometry(Rect(1920, 0, 1920, 1080), 2.0) == Rect(1920, 0, 3840, 2160)
    assert native_geometry(Rect(-1536, 0, 1536, 864), 1.25) == Rect(-1536, 0, 1920, 1080)


def test_monitor_left_of_the_primary_has_negative_coordinates():
    left = qt_screen("left", Rect(-1920, 0, 1920, 1080), 1.0)
    primary = qt_screen("primary", Rect(0, 0, 2560, 1440), 1.0)
    screens = [primary, left]
    sel = SelectionF(-1000, 10, 50, 40)
    assert screen_for_selection(screens, SelectionF(-1000, 10, 1, 1)) is left
    assert selection_to_device(sel, left) == Rect(920, 10, 50, 40)
    assert selection_to_virtual(sel, left) == Rect(-1000, 10, 50, 40)
    assert virtual_bounds(s.native for s in screens) == Rect(-1920, 0, 4480, 1440)


def test_monitor_above_at_scale_two_with_negative_y():
    above = qt_screen("above", Rect(0, -2160, 3840, 2160), 2.0)
    assert above.geometry == Rect(0, -2160, 1920, 1080)
    sel = SelectionF(100, -2100, 10, 10)
    assert selection_to_device(sel, above) == Rect(200, 120, 20, 20)
    assert selection_to_virtual(sel, above) == Rect(200, -2040, 20, 20)


def test_mixed_scales_side_by_side():
    hidpi = qt_screen("hidpi", Rect(0, 0, 2560, 1440), 1.25)
    plain = qt_screen("plain", Rect(2560, 0, 1920, 1080), 1.0)
    screens = [hidpi, plain]
    assert hidpi.geometry == Rect(0, 0, 2048, 1152)
    assert screen_for_selection(screens, SelectionF(2300, 10, 1, 1)) is None, (
        "Qt 6 leaves a logical gap between the two"
    )
    a = SelectionF(2000, 1000, 40, 100)
    assert screen_for_selection(screens, a) is hidpi
    assert selection_to_virtual(a, hidpi) == Rect(2500, 1250, 50, 125)
    b = SelectionF(2600, 100, 100, 100)
    assert screen_for_selection(screens, b) is plain
    assert selection_to_virtual(b, plain) == Rect(2600, 100, 100, 100)


def test_selection_running_off_its_screen_is_clipped_to_it():
    screen = qt_screen("s", Rect(0, 0, 1920, 1080), 1.5)
    assert selection_to_device(SelectionF(1200, 700, 500, 500), screen) == Rect(1800, 1050, 120, 30)


def test_fractional_scale_with_odd_panel_maps_the_whole_screen_to_the_whole_capture():
    screen = qt_screen("laptop", Rect(0, 0, 1366, 768), 1.25)
    g = screen.geometry
    assert selection_to_device(SelectionF(g.x, g.y, g.width, g.height), screen) == Rect(0, 0, 1366, 768)


def test_a_drag_on_a_panel_the_scale_does_not_divide_maps_by_the_scale_as_qt_maps_the_pointer():
    """Qt puts native pixel 1280 of a 1366-pixel panel at 1.75 at 1280 / 1.75 logical; mapped back by the
    panel's ratio to its 781 logical width (1.749) instead, it would land on 1279."""
    panel = Screen("panel", Rect(1920, 0, 781, 439), 1.75, Rect(1920, 0, 1366, 768))
    sel = SelectionF.from_points(1920 + 100 / 1.75, 100 / 1.75, 1920 + 1280 / 1.75, 700 / 1.75)
    assert selection_to_device(sel, panel) == Rect(100, 100, 1180, 600)
    assert selection_to_device(SelectionF(1920, 0, 781, 439), panel) == Rect(0, 0, 1366, 768)


@pytest.mark.parametrize(
    ("native", "scale", "logical"),
    [((1366, 768), 1.75, (781, 439)), ((2880, 1800), 1.75, (1646, 1029)), ((1280, 1025), 1.5, (853, 683))],
)
def test_native_size_is_the_monitors_where_the_scaled_logical_size_misses_it(native, scale, logical):
    """Qt rounds native / scale to the logical size, so logical x scale can miss the monitor by a pixel (X11
    then refuses a grab reaching past the desktop's edge); the monitor at the screen's origin says the truth."""
    monitor = Rect(1920, 0, *native)
    reported = Screen.from_qt("M2", Rect(1920, 0, *logical), scale)
    assert reported.native != monitor
    others = [Rect(0, 0, 1920, 1080), Rect(1920, 0, 1024, 768)]  # a neighbour, a mirror of another size
    assert with_native_from(reported, [*others, monitor]).native == monitor
    assert with_native_from(reported, others) == reported


def test_only_overlapping_windows_hide():
    targets = [Rect(0, 0, 1920, 1080)]
    assert overlaps_any(Rect(1900, 500, 300, 300), targets)
    assert not overlaps_any(Rect(1920, 0, 300, 300), targets)


SCALES = st.sampled_from([1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0])


@st.composite
def screens_and_selections(draw):
    scale = draw(SCALES)
    native = Rect(
        draw(st.integers(-8000, 8000)),
        draw(st.integers(-8000, 8000)),
        draw(st.integers(640, 7680)),
        draw(st.integers(480, 4320)),
    )
    screen = qt_screen("s", native, scale)
    g = screen.geometry
    x0 = draw(st.floats(g.x, g.right, allow_nan=False))
    y0 = draw(st.floats(g.y, g.bottom, allow_nan=False))
    x1 = draw(st.floats(x0, g.right, allow_nan=False))
    y1 = draw(st.floats(y0, g.bottom, allow_nan=False))
    split = draw(st.floats(x0, x1, allow_nan=False))
    return screen, SelectionF(x0, y0, x1 - x0, y1 - y0), split


@given(screens_and_selections())
def test_mapping_properties(case):
    screen, sel, split = case
    device = selection_to_device(sel, screen)
    assert device.x >= 0 and device.right <= screen.native.width
    assert device.y >= 0 and device.bottom <= screen.native.height
    fx = device_factors(screen)[0]
    past_the_edge = max(0.0, (sel.x + sel.width - screen.geometry.x) * fx - screen.native.width)
    assert abs(device.width - sel.width * fx) <= 1.0 + past_the_edge + 1e-9
    left = selection_to_device(SelectionF(sel.x, sel.y, split - sel.x, sel.height), screen)
    right = selection_to_device(SelectionF(split, sel.y, sel.x + sel.width - split, sel.height), screen)
    assert left.right == right.x, "adjacent selections must share their edge in pixels"
    virtual = selection_to_virtual(sel, screen)
    assert virtual.translated(-screen.native.x, -screen.native.y) == device


@given(screens_and_selections())
def test_device_rect_survives_a_round_trip_through_logical(case):
    screen, sel, _ = case
    virtual = selection_to_virtual(sel, screen)
    assert selection_to_virtual(device_to_logical(virtual, screen), screen) == virtual


def test_shot_crop_and_scaled_crop_from_a_logical_size_portal_image():
    pixels = np.zeros((200, 300, 4), np.uint8)
    pixels[..., 0] = np.arange(300)[None, :] % 256
    shot = Shot(pixels, Rect(-100, 0, 300, 200))
    part = shot.crop(Rect(-50, 10, 20, 30))
    assert part.rect == Rect(-50, 10, 20, 30)
    assert part.pixels.shape == (30, 20, 4) and part.pixels[0, 0, 0] == 50
    desktop = Rect(-200, 0, 600, 400)
    half = scaled_crop(shot, Rect(-100, 0, 100, 100), desktop)
    assert half.pixels.shape == (100, 100, 4)
    assert half.rect == Rect(-100, 0, 100, 100)


def test_no_working_handler_explains_why_and_what_to_install():
    class Broken:
        name = "nothing"
        install_hint = "apt-get install something"

        def problem(self) -> str | None:
            return "it is not there"

        def grab(self, rect, desktop):
            raise AssertionError("never called")

    with pytest.raises(CaptureError) as info:
        pick([Broken()])
    assert "nothing: it is not there" in str(info.value)
    assert "apt-get install something" in str(info.value)


# ----- the overlay and the recording bar: what the mouse did, mapped by the functions above -----


def _overlay(qtbot, scale: float = 2.0):
    from PySide6.QtGui import QColor, QGuiApplication, QImage

    from app.ui.capture.overlay import RegionOverlay

    info = Screen("test", Rect(0, 0, 400, 300), scale, Rect(0, 0, round(400 * scale), round(300 * scale)))
    image = QImage(info.native.width, info.native.height, QImage.Format.Format_RGB32)
    image.fill(QColor(10, 20, 30))
    image.setDevicePixelRatio(scale)
    overlay = RegionOverlay(QGuiApplication.primaryScreen(), info, image)
    qtbot.addWidget(overlay)
    overlay.show()
    qtbot.waitExposed(overlay)
    return overlay, info


def test_overlay_drag_selects_and_maps_to_device_pixels(qtbot):
    from PySide6.QtCore import QPoint, Qt

    overlay, info = _overlay(qtbot)
    with qtbot.waitSignal(overlay.accepted) as got:
        qtbot.mousePress(overlay, Qt.MouseButton.LeftButton, pos=QPoint(250, 200))
        qtbot.mouseMove(overlay, QPoint(150, 120))
        qtbot.mouseMove(overlay, QPoint(50, 40))
        qtbot.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=QPoint(50, 40))
    selection = got.args[0]
    assert selection == SelectionF(50, 40, 200, 160), "a drag up and left selects the same rectangle"
    assert selection_to_device(selection, info) == Rect(100, 80, 400, 320)


def test_overlay_click_without_drag_selects_nothing_and_enter_takes_the_screen(qtbot):
    from PySide6.QtCore import QPoint, Qt

    overlay, info = _overlay(qtbot, 1.5)
    with qtbot.assertNotEmitted(overlay.accepted):
        qtbot.mouseClick(overlay, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    with qtbot.waitSignal(overlay.accepted) as got:
        qtbot.keyClick(overlay, Qt.Key.Key_Return)
    assert selection_to_device(got.args[0], info) == Rect(0, 0, 600, 450)


def test_overlay_escape_and_right_click_cancel(qtbot):
    from PySide6.QtCore import QPoint, Qt

    overlay, _ = _overlay(qtbot)
    with qtbot.waitSignal(overlay.cancelled):
        qtbot.keyClick(overlay, Qt.Key.Key_Escape)
    with qtbot.waitSignal(overlay.cancelled):
        qtbot.mouseClick(overlay, Qt.MouseButton.RightButton, pos=QPoint(10, 10))


def test_recording_bar_is_placed_outside_the_region():
    from PySide6.QtCore import QRect

    from app.ui.capture.recording_ui import BORDER, place_outside

    screens = [QRect(0, 0, 1920, 1080)]
    region = QRect(400, 300, 600, 400)
    bar = place_outside((220, 36), region, screens)
    assert bar is not None and screens[0].contains(bar)
    assert not bar.intersects(region.adjusted(-BORDER, -BORDER, BORDER, BORDER))
    low = place_outside((220, 36), QRect(0, 100, 1920, 980), screens)
    assert low is not None and low.bottom() < 100
    assert place_outside((220, 36), QRect(0, 0, 1920, 1080), screens) is None
    second = [QRect(0, 0, 1920, 1080), QRect(-1280, 0, 1280, 1024)]
    other = place_outside((220, 36), QRect(0, 0, 1920, 1080), second)
    assert other is not None and second[1].contains(other)
