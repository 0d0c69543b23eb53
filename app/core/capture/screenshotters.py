"""Screenshots behind one protocol, with handlers ordered by preference (normcap's pattern).

mss reads the frame buffer directly on X11, Windows and macOS in a few milliseconds. On Wayland a client may
not read other windows' pixels at all; the xdg-desktop-portal Screenshot call asks the compositor for them
(over D-Bus, through ``jeepney``: ``app.core.capture.portal``). ``pick`` takes the first handler that can work
here and, when none can, the error says for each why not and what to install.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.core import private_files
from app.core.capture.geometry import Rect, Screen
from app.core.errors import AppError

if TYPE_CHECKING:
    import numpy as np


class CaptureError(AppError):
    """A capture that could not be taken; the message is for the person and says what to do."""

    kind = "capture"


@dataclass
class Shot:
    """Pixels of ``rect`` (native virtual-desktop pixels) as an H x W x 4 BGRA array, mss's own layout, which Qt
    (Format_RGB32), OpenCV (first three channels) and Pillow ("BGRX" raw mode) all read without a copy."""

    pixels: np.ndarray
    rect: Rect

    def crop(self, rect: Rect) -> Shot:
        """The part of this shot covering ``rect`` (same pixel space as ``self.rect``), clipped to it."""
        part = rect.intersection(self.rect)
        x, y = part.x - self.rect.x, part.y - self.rect.y
        return Shot(self.pixels[y : y + part.height, x : x + part.width], part)

    def save_png(self, path: Path, compress_level: int = 1, screens: Sequence[Screen] = ()) -> Path:
        """Written with light compression: screenshots are large and the hotkey-to-image time counts more than
        bytes on disk. With ``screens`` the PNG also says where on the desktop it was taken, so grounding boxes
        can be mapped back to real screen coordinates (``app.core.grounding``)."""
        import numpy as np
        from PIL import Image

        from app.core.capture.metadata import capture_png_info

        pixels = np.ascontiguousarray(self.pixels)
        h, w = pixels.shape[:2]
        image = Image.frombuffer("RGB", (w, h), pixels, "raw", "BGRX", 0, 1)
        private_files.private_folder(path.parent)
        tmp = path.with_suffix(".part")
        pnginfo = capture_png_info(self.rect, screens) if screens else None
        with open(tmp, "wb", opener=private_files.opener) as f:
            image.save(f, format="PNG", compress_level=compress_level, pnginfo=pnginfo)
        os.replace(tmp, path)
        return path


class Screenshotter(Protocol):
    name: str
    install_hint: str

    def problem(self) -> str | None:
        """None when this handler can work in this session, else why it cannot."""
        ...

    def grab(self, rect: Rect, desktop: Rect) -> Shot:
        """The pixels of ``rect``; ``desktop`` is the whole virtual desktop in the same native pixels."""
        ...


def is_wayland() -> bool:
    return sys.platform.startswith("linux") and (
        bool(os.environ.get("WAYLAND_DISPLAY")) or os.environ.get("XDG_SESSION_TYPE") == "wayland"
    )


def _open_mss(mss: Any) -> Any:
    """mss 10.2 renamed the factory ``mss.mss`` to ``mss.MSS`` (the old name warns); 9.x has only the old."""
    return getattr(mss, "MSS", mss.mss)()


class MssScreenshotter:
    """The frame buffer through mss. A fresh mss instance per grab: its X11 connection must not cross threads,
    and opening one costs about a millisecond."""

    name = "mss"
    install_hint = "pip install mss"

    def problem(self) -> str | None:
        try:
            import mss  # noqa: F401
        except ImportError:
            return "the mss package is not installed"
        if is_wayland():
            return "Wayland does not let applications read the screen directly (mss would see only black)"
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            return "no X display (DISPLAY is not set)"
        return None

    def grab(self, rect: Rect, desktop: Rect) -> Shot:
        import mss
        import numpy as np

        if rect.empty:
            raise CaptureError("The area to capture is empty; select a larger region.")
        area = {"left": rect.x, "top": rect.y, "width": rect.width, "height": rect.height}
        try:
            with _open_mss(mss) as sct:
                raw = sct.grab(area)
        except mss.exception.ScreenShotError as e:
            raise CaptureError(f"The screen could not be read ({e}). Check that the display is reachable.") from e
        pixels = np.frombuffer(raw.bgra, dtype=np.uint8).reshape(raw.height, raw.width, 4)
        return Shot(pixels, Rect(rect.x, rect.y, raw.width, raw.height))


def native_monitors() -> list[Rect]:
    """The monitors in native pixels as the frame buffer lists them (mss: RandR monitors on X11, display
    monitors on Windows); empty where mss cannot read the screen (Wayland, no display, not installed)."""
    if MssScreenshotter().problem() is not None:
        return []
    import mss

    try:
        with _open_mss(mss) as sct:
            return [Rect(m["left"], m["top"], m["width"], m["height"]) for m in sct.monitors[1:]]
    except mss.exception.ScreenShotError:
        return []


def load_png_as_shot(path: Path, desktop: Rect) -> Shot:
    """A screenshot file as a Shot placed over ``desktop`` (its size may differ; see ``scaled_crop``)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgba = np.asarray(image.convert("RGBA"))
    except (OSError, UnidentifiedImageError) as e:
        raise CaptureError(f"The screenshot file {path} could not be read ({e}).") from e
    bgra = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])
    return Shot(bgra, Rect(desktop.x, desktop.y, bgra.shape[1], bgra.shape[0]))


def scaled_crop(full: Shot, rect: Rect, desktop: Rect) -> Shot:
    """Crop ``rect`` (native desktop pixels) out of an image covering ``desktop`` at whatever size it came."""
    import numpy as np

    h, w = full.pixels.shape[:2]
    if (w, h) == (desktop.width, desktop.height):
        return full.crop(rect)
    fx, fy = w / desktop.width, h / desktop.height
    x0, y0 = round((rect.x - desktop.x) * fx), round((rect.y - desktop.y) * fy)
    x1, y1 = round((rect.right - desktop.x) * fx), round((rect.bottom - desktop.y) * fy)
    part = full.pixels[max(0, y0) : y1, max(0, x0) : x1]
    import cv2

    resized = cv2.resize(np.ascontiguousarray(part), (rect.width, rect.height), interpolation=cv2.INTER_LINEAR)
    return Shot(resized, rect)


def default_handlers() -> list[Screenshotter]:
    from app.core.capture.portal import PortalScreenshotter

    if is_wayland():
        return [PortalScreenshotter(), MssScreenshotter()]
    return [MssScreenshotter(), PortalScreenshotter()]


def pick(handlers: Sequence[Screenshotter] | None = None) -> Screenshotter:
    """The first handler that can work here; otherwise a CaptureError listing each one's reason and remedy."""
    reasons = []
    for handler in handlers if handlers is not None else default_handlers():
        problem = handler.problem()
        if problem is None:
            return handler
        reasons.append(f"- {handler.name}: {problem} (to use it: {handler.install_hint})")
    raise CaptureError("No way to take screenshots works in this session:\n" + "\n".join(reasons))
