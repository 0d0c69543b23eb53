"""Region and full-screen capture on two monitors, through the assembled app on a real X server.

Xvfb's one screen is split into two RandR 1.5 monitors (``xvfb.xvfb_monitors``), which Qt's xcb platform makes
two QScreens of: a 1920x1080 primary and a 1280x1024 monitor right of it, with a strip below the second that no
monitor shows. The pattern of ``tests.support.screen_pattern`` covers the whole root window, so every captured
pixel says where it came from. The app runs as `python -m app.cli` (``profiled_app.started``) with its main window
across both monitors, over what is captured; `glmv capture` is what a desktop shortcut runs, and xdotool is the
person.

A second display puts a 1366x768 panel at 175 % beside the primary, a size Qt's logical geometry cannot give back
(781 logical x 1.75 = 1366.75): the capture must still be the panel, no more and no less.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from app.core.capture.geometry import Rect
from tests.support import profiled_app, xvfb
from tests.support.profiled_app import (
    Running,
    geometry,
    glmv,
    glmv_started,
    launch,
    main_window,
    overlays,
    rgb,
    screen,
    started,
    until,
    xvfb_and_server,
)
from tests.support.screen_pattern import pattern

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(xvfb.missing("xrandr") is not None, reason=xvfb.missing("xrandr") or ""),
]
PRIMARY = (0, 0, 1920, 1080)
SECOND = (1920, 0, 1280, 1024)
PANEL = (1920, 0, 1366, 768)
# Where the main window sits: across both monitors, over everything the tests capture on the second.
WINDOW_AT = (1700, 100)


def xdotool(app: Running, *args: str) -> str:
    """xdotool, which must succeed."""
    return profiled_app.xdotool(app, *args, check=True)


def part(pixels: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = rect
    return pixels[y : y + h, x : x + w]


def dimmed(pixels: np.ndarray) -> np.ndarray:
    """What an overlay shows of its frozen screen: the image under black at alpha 110."""
    return np.floor(pixels * (145 / 255) + 0.5)


def overlays_show(app: Running, monitors: tuple[tuple[int, int, int, int], ...]) -> bool:
    """Every monitor shows its own frozen, dimmed pattern, each pixel where it was (our window hidden before the
    freeze), and what lies outside every monitor is live. The hint at the top of each is left out; a crosshair
    line may differ."""
    live = screen(app)
    expected = pattern(live.shape[1], live.shape[0])
    outside = np.ones(live.shape[:2], bool)
    for x, y, w, h in monitors:
        below_hint = (x, y + 200, w, h - 200)
        close = np.abs(part(live, below_hint).astype(int) - dimmed(part(expected, below_hint))).max(axis=2) <= 1
        if close.mean() < 0.995:
            return False
        part(outside, (x, y, w, h))[...] = False
    return bool(np.array_equal(live[outside], expected[outside]))


def drag(app: Running, x0: int, y0: int, x1: int, y1: int) -> None:
    profiled_app.drag(app, x0, y0, x1, y1, steps=4, check=True)


@contextmanager
def running(tmp: Path, monitors: tuple[tuple[int, int, int, int], ...], scales: str | None = None) -> Iterator[Running]:
    """The app on a display of ``monitors`` (QT_SCREEN_SCALE_FACTORS ``scales``), its window at WINDOW_AT."""
    extra = {"QT_SCREEN_SCALE_FACTORS": scales} if scales else {}
    with xvfb_and_server(monitors=monitors, painted=True) as (display, server):
        width, height = xvfb.layout_size(monitors)
        with started(launch(display, server, tmp, env=extra)) as app:
            window = until(lambda: main_window(app), 30, "the main window", app)
            xdotool(app, "windowmove", "--sync", window, *map(str, WINDOW_AT))
            until(lambda: geometry(app, window)[:2] == WINDOW_AT, 10, "the main window to move", app)
            covered = geometry(app, window)
            until(
                lambda: not np.array_equal(part(screen(app), covered), part(pattern(width, height), covered)),
                10,
                "the main window drawn across both monitors",
                app,
            )
            yield app


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("two-monitors"), (PRIMARY, SECOND)) as app:
        yield app


@pytest.fixture(scope="module")
def panel_app(tmp_path_factory) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("panel-175"), (PRIMARY, PANEL), scales="M1=1;M2=1.75") as app:
        yield app


def region(
    app: Running,
    monitors: tuple[tuple[int, int, int, int], ...],
    cursor: tuple[int, int],
    then: Callable[[], object],
) -> Path:
    """`glmv capture --region` with the cursor at ``cursor``; ``then`` acts once the overlays are up. The PNG it
    printed, after our window came back where it was."""
    window = main_window(app)
    assert window is not None, "the previous test left the main window hidden"
    where = geometry(app, window)
    before = set(app.captures.glob("*.png"))
    xdotool(app, "mousemove", *map(str, cursor))
    command = glmv_started(app, "capture", "--region")
    try:
        until(lambda: len(overlays(app)) == len(monitors), 20, "an overlay on each monitor")
        until(lambda: overlays_show(app, monitors), 10, "each overlay to show its monitor frozen")
        then()
        out, err = command.communicate(timeout=30)
    finally:
        command.kill()
    assert command.returncode == 0, err
    shot = Path(out.strip())
    assert shot.parent == app.captures and shot not in before
    until(lambda: main_window(app), 10, "the main window to come back")
    assert geometry(app, main_window(app) or "") == where
    return shot


@pytest.mark.parametrize(
    ("start", "end", "crop"),
    [
        ((2101, 151), (2900, 800), (2101, 151, 799, 649)),
        ((2300, 300), (1700, 500), (1920, 300, 380, 200)),
        ((2500, 900), (2700, 1060), (2500, 900, 200, 124)),
    ],
    ids=["inside", "onto-the-primary", "into-the-strip-below"],
)
def test_region_dragged_on_the_second_monitor_is_that_crop_of_it(app, start, end, crop):
    """A drag that runs off the second monitor (onto the primary, or below it where no monitor is) is clipped
    to the monitor it began on."""
    shot = region(app, (PRIMARY, SECOND), start, lambda: drag(app, *start, *end))
    pixels = rgb(shot)
    _, _, w, h = crop
    assert pixels.shape == (h, w, 3)
    assert np.array_equal(pixels, part(pattern(3200, 1080), crop)), "pixels moved, or our window is in it"

    from app.core.capture.metadata import read_capture_metadata

    where = read_capture_metadata(shot)
    assert where is not None and where.rect == Rect(*crop)
    assert [(s.name, s.geometry, s.scale) for s in where.screens] == [
        ("M1", Rect(*PRIMARY), 1.0),
        ("M2", Rect(*SECOND), 1.0),
    ]


def test_full_screen_with_the_cursor_on_the_second_monitor_is_that_monitor(app):
    xdotool(app, "mousemove", "2500", "500")
    done = glmv(app, "capture", "--full")
    assert done.returncode == 0, done.stderr
    shot = Path(done.stdout.strip())
    assert np.array_equal(rgb(shot), part(pattern(3200, 1080), SECOND)), "not that monitor, or our window is in it"

    from app.core.capture.metadata import read_capture_metadata

    where = read_capture_metadata(shot)
    assert where is not None and where.rect == Rect(*SECOND)
    until(lambda: main_window(app), 10, "the main window to come back")


def test_a_panel_at_175_percent_is_captured_whole_by_full_screen_and_by_region(panel_app):
    """1366 x 768 at 1.75 is 781 x 439 logical; 781 x 1.75 rounds to 1367, a column past the X screen's edge,
    where X11 refuses the whole grab. Enter on an overlay takes its whole monitor."""
    expected = part(pattern(3286, 1080), PANEL)
    xdotool(panel_app, "mousemove", "2600", "400")
    done = glmv(panel_app, "capture", "--full")
    assert done.returncode == 0, done.stderr
    assert np.array_equal(rgb(Path(done.stdout.strip())), expected)
    until(lambda: main_window(panel_app), 10, "the main window to come back")

    shot = region(panel_app, (PRIMARY, PANEL), (2600, 400), lambda: xdotool(panel_app, "key", "Return"))
    assert np.array_equal(rgb(shot), expected)


def test_region_dragged_on_a_panel_at_175_percent_is_what_was_under_the_pointer(panel_app):
    """Qt maps the pointer by the scale; the panel's ratio to its logical size (1366 / 781 = 1.749) would crop
    one pixel short of a drag reaching into its right third."""
    crop = (2020, 100, 1180, 600)
    shot = region(panel_app, (PRIMARY, PANEL), (2020, 100), lambda: drag(panel_app, 2020, 100, 3200, 700))
    assert np.array_equal(rgb(shot), part(pattern(3286, 1080), crop))
