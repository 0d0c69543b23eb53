"""Boxes on the live screen, through the assembled app on a real X server, read back as screen pixels.

Xvfb's screen is split into two RandR monitors (``xvfb.xvfb_monitors``) and covered with the pattern of
``tests.support.screen_pattern``, whose every pixel says where it is. The app runs with the test probe
(``tests.support.app_window``) for looking; people act through xdotool and `glmv capture --region`: a region is
dragged on one monitor, the screenshot goes out with a question, the loopback server answers with a box, and
"Show on screen" is clicked under the answer.
An mss grab of the whole X screen must then show the box's outline on exactly the screen pixels around the box,
and the box itself clear, at scale 1 and 2 (QT_SCREEN_SCALE_FACTORS, per monitor, both ways round), on the
primary and on the second monitor. Esc, or a click anywhere (which goes through to what is under it), takes the
boxes away. The grabs are saved beside the app's output (pytest --basetemp=DIR keeps them to look at).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.capture.geometry import Rect
from app.core.capture.metadata import read_capture_metadata
from app.core.grounding.drawing import color_for
from app.ui.screen_boxes import BAND, FRAME, INNER, OVERLAY_TITLE
from tests.support import xvfb
from tests.support.app_window import PROBE_ENV, look
from tests.support.openai_server import dialect_stream
from tests.support.profiled_app import (
    Running,
    glmv_started,
    launch,
    main_window,
    overlays,
    screen,
    started,
    until,
    visible,
    xdotool,
    xvfb_and_server,
)
from tests.support.screen_pattern import pattern

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(xvfb.missing("xrandr") is not None, reason=xvfb.missing("xrandr") or ""),
]


@dataclass(frozen=True)
class Layout:
    """Two monitors (x, y, width, height in native pixels) and their scales."""

    name: str
    primary: tuple[int, int, int, int]
    second: tuple[int, int, int, int]
    scales: tuple[int, int]

    @property
    def monitors(self) -> tuple[tuple[int, int, int, int], ...]:
        return self.primary, self.second

    @property
    def size(self) -> tuple[int, int]:
        return xvfb.layout_size(self.monitors)


LAYOUTS = [
    # The primary at 100 %, a 1280x1024 monitor at 200 % right of it (640x512 logical at x 1920).
    Layout("primary-1-second-2", (0, 0, 1920, 1080), (1920, 0, 1280, 1024), (1, 2)),
    # The primary at 200 % (1280x800 logical: room for the 1280x820 window), the second at 100 % at x 2560.
    Layout("primary-2-second-1", (0, 0, 2560, 1600), (2560, 0, 1280, 1024), (2, 1)),
]


@pytest.fixture(scope="module", params=LAYOUTS, ids=[layout.name for layout in LAYOUTS])
def app(request, tmp_path_factory) -> Iterator[tuple[Running, Layout]]:
    layout: Layout = request.param
    tmp = tmp_path_factory.mktemp(layout.name)
    env = {PROBE_ENV: str(tmp / "probe.sock"), "QT_SCREEN_SCALE_FACTORS": "M1={};M2={}".format(*layout.scales)}

    def up(app: Running) -> bool:
        try:
            return bool(look(app, "w is not None and w.isVisible() and w.windowHandle().isExposed()"))
        except OSError:
            return False

    with (
        xvfb_and_server(monitors=layout.monitors, painted=True) as (display, server),
        started(launch(display, server, tmp, env=env, module="tests.support.app_window"), up, "the window") as running,
    ):
        window = until(lambda: main_window(running), 30, "the main window", running)
        xdotool(running, "windowmove", "--sync", window, "0", "0")
        time.sleep(1.0)  # the hotkeys' X11 listener starts with the window
        yield running, layout


def native_center(app: Running, widget: str) -> tuple[int, int]:
    """Where a person points to hit ``widget``, in native X pixels: Qt's global coordinates are logical, and
    Qt 6 keeps each screen's native origin, scaling only what lies beyond it."""
    code = (
        f"widget = {widget}\n"
        "from PySide6.QtCore import QPoint\n"
        "s = widget.screen(); g = s.geometry(); r = s.devicePixelRatio()\n"
        "p = widget.mapToGlobal(QPoint(widget.width() // 2, widget.height() // 2))\n"
        "visible = not widget.visibleRegion().isEmpty()\n"
        "result = [round(g.x() + (p.x() - g.x()) * r), round(g.y() + (p.y() - g.y()) * r), visible]"
    )
    x, y, shown = look(app, code)
    assert shown, f"{widget} is not on screen"
    return x, y


def click_widget(app: Running, widget: str) -> None:
    x, y = native_center(app, widget)
    xdotool(app, "mousemove", "--sync", str(x), str(y), "sleep", "0.1", "click", "1")


def capture_region(app: Running, layout: Layout, x0: int, y0: int, x1: int, y1: int) -> Path:
    """`glmv capture --region` and a person's drag across the overlays; the screenshot, attached by the app."""
    command = glmv_started(app, "capture", "--region")
    try:
        until(lambda: len(overlays(app)) == 2, 20, "an overlay on each monitor", app)
        time.sleep(0.3)
        xdotool(app, "mousemove", str(x0), str(y0), "sleep", "0.1", "mousedown", "1", "sleep", "0.1")
        for k in range(1, 5):
            xdotool(app, "mousemove", str(x0 + (x1 - x0) * k // 4), str(y0 + (y1 - y0) * k // 4), "sleep", "0.05")
        xdotool(app, "sleep", "0.1", "mouseup", "1")
        out, err = command.communicate(timeout=30)
    finally:
        command.kill()
    assert command.returncode == 0, err
    until(lambda: main_window(app), 10, "the main window to come back", app)
    until(lambda: look(app, "len(w.composer.strip.chips())") == 1, 10, "the screenshot attached", app)
    return Path(out.strip())


def ask_for_box(app: Running, question: str, box: tuple[int, int, int, int]) -> None:
    """The question typed into the window; the server answers with ``box`` (0..1000 of the screenshot)."""
    answer = f"It is here: <|begin_of_box|>[[{', '.join(map(str, box))}]]<|end_of_box|>."
    app.server.enqueue(dialect_stream("vllm", "Looking.", answer))
    cards = look(app, "len(w.answer_cards())")
    window = main_window(app)
    assert window is not None
    xdotool(app, "windowfocus", "--sync", window, "type", "--delay", "15", question)
    xdotool(app, "key", "--window", window, "Return")
    panel = f"w.answer_cards()[{cards}].boxes_panel"
    until(
        lambda: look(app, f"len(w.answer_cards()) > {cards} and {panel}.on_screen.isVisible()"),
        30,
        "the answer with its box and Show on screen",
        app,
    )
    look(app, "w.transcript.verticalScrollBar().setValue(w.transcript.verticalScrollBar().maximum())")


def boxes_windows(app: Running) -> list[str]:
    return visible(app, f"^{OVERLAY_TITLE}$")


def grab(app: Running, name: str) -> np.ndarray:
    pixels = screen(app)
    Image.fromarray(pixels).save(app.log.with_name(f"{name}.png"))
    return pixels


def outline_at(pixels: np.ndarray, expected: np.ndarray, box: Rect, scale: int, color: tuple[int, int, int]) -> None:
    """The outline on the native pixels around ``box``: from the box outwards ``INNER`` dark, ``BAND`` of the
    box's colour, ``OUTER`` dark (logical pixels, each ``scale`` native ones); the pixels inside the box and
    just beyond the outline are the live screen's."""
    dark, rgb = (0, 0, 0), np.array(color, np.uint8)
    inner, band, frame = INNER * scale, BAND * scale, FRAME * scale
    left, top, right, bottom = box.x, box.y, box.x + box.width, box.y + box.height
    cx, cy = left + box.width // 2, top + box.height // 2
    # (a native pixel's position, what it shows) across each side's middle
    sides = {
        "left": [(left - 1 - d, cy) for d in range(frame + 1)],
        "right": [(right + d, cy) for d in range(frame + 1)],
        "top": [(cx, top - 1 - d) for d in range(frame + 1)],
        "bottom": [(cx, bottom + d) for d in range(frame + 1)],
    }
    for side, points in sides.items():
        for d, (x, y) in enumerate(points):
            want = dark if d < inner or inner + band <= d < frame else tuple(rgb) if d < frame else None
            got = tuple(int(v) for v in pixels[y, x])
            if want is None:
                assert got == tuple(expected[y, x]), f"{side}: ({x}, {y}) past the outline is not the live screen"
            else:
                assert got == want, f"{side}: ({x}, {y}) is {got}, not {want}, at {d} pixels outside the box"
    inside = (slice(top, bottom), slice(left, right))
    assert np.array_equal(pixels[inside], expected[inside]), "the box itself is covered"
    # The whole band: every pixel of the colour ring, not only its middles.
    ring = np.zeros(pixels.shape[:2], bool)
    ring[top - inner - band : bottom + inner + band, left - inner - band : right + inner + band] = True
    ring[top - inner : bottom + inner, left - inner : right + inner] = False
    assert (pixels[ring] == rgb).all(axis=1).mean() == 1.0, "the colour band is broken somewhere"


def show_and_check(app: Running, layout: Layout, name: str, capture: Rect, box: tuple[int, int, int, int]) -> Rect:
    """Clicks Show on screen under the last answer; checks the outline; returns the box in native pixels."""
    shot = capture_region(app, layout, capture.x, capture.y, capture.x + capture.width, capture.y + capture.height)
    where = read_capture_metadata(shot)
    assert where is not None and where.rect == capture
    assert [s.scale for s in where.screens] == list(map(float, layout.scales))
    ask_for_box(app, f"where is it ({name})?", box)
    x1, y1, x2, y2 = box
    # Chosen so the box is whole pixels of the screenshot and of each scale: no rounding to argue about.
    device = Rect(
        capture.x + x1 * capture.width // 1000,
        capture.y + y1 * capture.height // 1000,
        (x2 - x1) * capture.width // 1000,
        (y2 - y1) * capture.height // 1000,
    )
    click_widget(app, "w.answer_cards()[-1].boxes_panel.on_screen")
    until(lambda: boxes_windows(app), 10, "the boxes on screen", app)
    assert look(app, "w.statusBar().currentMessage()").startswith("1 box on screen · Esc or a click hides")
    width, height = layout.size
    expected = pattern(width, height)
    color = np.array(color_for(0), np.uint8)
    middle_of_band = (device.y + device.height // 2, device.x - 1 - INNER * 2 - 1)
    until(lambda: (screen(app)[middle_of_band] == color).all(), 10, "the outline drawn", app)
    pixels = grab(app, f"{layout.name}-{name}-shown")
    scale = layout.scales[0] if device.x < layout.second[0] else layout.scales[1]
    outline_at(pixels, expected, device, scale, color_for(0))
    return device


def test_a_box_on_the_primary_is_drawn_on_its_pixels_and_esc_takes_it_away(app):
    """Our window covers the box: it hides while the box shows, and Esc brings it back."""
    app, layout = app
    window = main_window(app)
    assert window is not None
    capture = Rect(600, 300, 800, 500)  # under our window (0, 0): the capture hides it meanwhile
    device = show_and_check(app, layout, "primary", capture, (250, 200, 750, 600))
    assert device == Rect(800, 400, 400, 200)
    assert main_window(app) is None, "our window over the box is put out of the way"
    xdotool(app, "key", "Escape")
    until(lambda: not boxes_windows(app), 10, "the boxes gone after Esc", app)
    until(lambda: main_window(app), 10, "our window back after Esc", app)
    assert look(app, "w.isMinimized()") is False
    assert look(app, "__import__('app.ui.screen_boxes', fromlist=['_shown'])._shown") == []
    grab(app, f"{layout.name}-primary-after-esc")


def test_a_box_on_the_second_monitor_is_drawn_on_its_pixels_and_a_click_goes_through_and_takes_it_away(app):
    app, layout = app
    sx, sy, sw, sh = layout.second
    capture = Rect(sx + 180, sy + 100, 800, 600)
    device = show_and_check(app, layout, "second", capture, (250, 250, 750, 750))
    assert device == Rect(sx + 380, sy + 250, 400, 300)
    # Click-through: the X server finds no window of the boxes under the pointer, even on the outline itself.
    ours = set(boxes_windows(app))
    on_outline = (device.x - 2, device.y + device.height // 2)
    xdotool(app, "mousemove", "--sync", *map(str, on_outline))
    under = re.search(r"window:(\d+)", xdotool(app, "getmouselocation"))
    assert under is not None and under.group(1) not in ours
    width, height = layout.size
    expected = pattern(width, height)
    elsewhere = (sx + sw - 100, sy + sh - 100)
    xdotool(app, "mousemove", "--sync", *map(str, elsewhere), "sleep", "0.1", "click", "1")
    until(lambda: not boxes_windows(app), 10, "the boxes gone after a click", app)
    pixels = grab(app, f"{layout.name}-second-after-click")
    ring = (slice(device.y - FRAME * 2, device.y + device.height + FRAME * 2), slice(device.x - 12, device.x))
    assert np.array_equal(pixels[ring], expected[ring]), "the outline is still on screen"
    assert look(app, "w.isVisible() and not w.isMinimized()"), "our window was not over the box: it stays as it was"
