"""The bridge between QScreen/QImage and the plain geometry and pixel types of app.core.capture."""

from __future__ import annotations

import functools
import sys

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication, QImage, QScreen

from app.core.capture.geometry import Rect, Screen, with_native_from
from app.core.capture.screenshotters import Shot, native_monitors


def rect_of(q: QRect) -> Rect:
    return Rect(q.x(), q.y(), q.width(), q.height())


def qrect_of(r: Rect) -> QRect:
    return QRect(r.x, r.y, r.width, r.height)


def screen_info(screen: QScreen) -> Screen:
    """On macOS Qt's logical coordinates are points, the same space mss grabs in (the image comes back at
    the Retina size, which the mapping reads from the capture itself); elsewhere Qt 6 keeps native origins."""
    geometry = rect_of(screen.geometry())
    if sys.platform == "darwin":
        return Screen(screen.name(), geometry, screen.devicePixelRatio(), geometry)
    return Screen.from_qt(screen.name(), geometry, screen.devicePixelRatio())


def with_capture_size(info: Screen, shot: Shot) -> Screen:
    """The same screen with its native size taken from an actual capture of it, so selections map by the
    real pixel ratio whatever the platform reported."""
    h, w = shot.pixels.shape[:2]
    return Screen(info.name, info.geometry, info.scale, Rect(info.native.x, info.native.y, w, h))


def all_screens() -> list[tuple[QScreen, Screen]]:
    """Qt's screens, each with its monitor's exact native size where the platform lists monitors (see
    ``with_native_from``); macOS's are in points already."""
    screens = QGuiApplication.screens()
    if sys.platform == "darwin":
        return [(s, screen_info(s)) for s in screens]
    layout = tuple((s.name(), rect_of(s.geometry()), s.devicePixelRatio()) for s in screens)
    monitors = _monitors(layout)
    return [(s, with_native_from(screen_info(s), monitors)) for s in screens]


@functools.lru_cache(maxsize=1)
def _monitors(layout: tuple[tuple[str, Rect, float], ...]) -> tuple[Rect, ...]:
    """Asked of the frame buffer (about 1.5 ms on X11) again only when Qt's ``layout`` of screens changes."""
    return tuple(native_monitors())


def qimage_of(shot: Shot, device_pixel_ratio: float = 1.0) -> QImage:
    """A deep copy (QImage would otherwise point into the numpy buffer)."""
    pixels = np.ascontiguousarray(shot.pixels)
    h, w = pixels.shape[:2]
    image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_RGB32).copy()
    image.setDevicePixelRatio(device_pixel_ratio)
    return image
