"""A pattern whose every pixel says where it is, painted over an X server's root window by a helper process, so a
capture that is off by one pixel, mis-scaled, or holds one of our own windows shows up as a difference.

    painter = start(env)  # on the Xvfb whose environment is ``env``; prints "ready" once drawn
    ...
    xvfb.stop(painter)

Run directly (``python tests/support/screen_pattern.py [WIDTH HEIGHT]``), it is that helper process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

W, H = 1920, 1080


def pattern(width: int = W, height: int = H) -> np.ndarray:
    """RGB: red = x mod 256, green = y mod 256, blue = which 256-pixel tile; unique at every position of a
    screen up to 4096 x 4096 (two monitors side by side included)."""
    x = np.arange(width)[None, :]
    y = np.arange(height)[:, None]
    out = np.empty((height, width, 3), np.uint8)
    out[..., 0] = x % 256
    out[..., 1] = y % 256
    out[..., 2] = (x // 256) * 16 + y // 256
    return out


def start(env: dict[str, str], width: int = W, height: int = H) -> subprocess.Popen:
    """The painter on the X server of ``env``, once its window is drawn (stop it with ``xvfb.stop``)."""
    from tests.support import xvfb

    return xvfb.start([str(Path(__file__).resolve()), str(width), str(height)], env)


def load_rgb(path: str | Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def decode(path: str) -> tuple[list[np.ndarray], float]:
    """A recording's frames (BGR, as OpenCV reads them) and its frame rate."""
    import cv2

    capture = cv2.VideoCapture(path)
    assert capture.isOpened()
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    return frames, fps


def paint(width: int = W, height: int = H) -> None:
    """The pattern over the root window's top-left ``width`` x ``height`` (all monitors, when given their bounds)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication([])
    rgb = np.ascontiguousarray(pattern(width, height))
    image = QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888).copy()

    class Pattern(QWidget):
        def paintEvent(self, event) -> None:
            p = QPainter(self)
            p.drawImage(0, 0, image)
            p.end()

    w = Pattern()
    w.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.X11BypassWindowManagerHint)
    w.setGeometry(0, 0, width, height)
    w.show()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.02)
    print("ready", flush=True)
    app.exec()


if __name__ == "__main__":
    paint(*map(int, sys.argv[1:]))
