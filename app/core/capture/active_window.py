"""Where the active window is, in native virtual-desktop pixels, on the platforms that tell us.

Wayland never tells a client where other windows are, so there the answer is an error that points to the
region capture instead.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from app.core.capture.geometry import Rect
from app.core.capture.screenshotters import CaptureError, is_wayland


def active_window_rect() -> Rect:
    if is_wayland():
        raise CaptureError("Wayland does not reveal other windows' positions; capture a region instead.")
    if sys.platform == "win32":
        return _windows_rect()
    if sys.platform == "darwin":
        return _mac_rect()
    return _x11_rect()


def _x11_rect() -> Rect:
    try:
        return _xlib_rect()
    except ImportError:
        pass
    if shutil.which("xdotool"):
        return _xdotool_rect()
    raise CaptureError("Active-window capture on X11 needs python-xlib (pip install python-xlib) or xdotool.")


def _xlib_rect() -> Rect:
    """_NET_ACTIVE_WINDOW when a window manager keeps it, else the window holding the keyboard focus, walked up
    to its top-level ancestor; frame extents (title bar, borders) are added when the manager reports them."""
    from Xlib import X, display, error

    d = display.Display()
    try:
        root = d.screen().root
        window = None
        active = root.get_full_property(d.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        if active and active.value and active.value[0]:
            window = d.create_resource_object("window", active.value[0])
        else:
            focus = d.get_input_focus().focus
            if isinstance(focus, int) or focus in (X.NONE, X.PointerRoot) or focus == root:
                raise CaptureError("No window has the focus; click the window to capture first.")
            window = focus
            while True:
                parent = window.query_tree().parent
                if parent == root or parent == 0:
                    break
                window = parent
        try:
            geometry = window.get_geometry()
            origin = window.translate_coords(root, 0, 0)
        except error.XError as e:
            raise CaptureError(f"The active window vanished before it could be captured ({e}).") from e
        x, y = -origin.x, -origin.y
        left = right = top = bottom = 0
        extents = window.get_full_property(d.intern_atom("_NET_FRAME_EXTENTS"), X.AnyPropertyType)
        if extents and len(extents.value) == 4:
            left, right, top, bottom = (int(v) for v in extents.value)
        return Rect(x - left, y - top, geometry.width + left + right, geometry.height + top + bottom)
    finally:
        d.close()


def _xdotool_rect() -> Rect:
    out = subprocess.run(
        ["xdotool", "getwindowfocus", "getwindowgeometry", "--shell"], capture_output=True, text=True, timeout=5
    )
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    try:
        return Rect(int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"]))
    except (KeyError, ValueError) as e:
        raise CaptureError("No window has the focus; click the window to capture first.") from e


if sys.platform == "win32":  # ctypes has windll only there (and mypy checks this only for Windows)

    def _windows_rect() -> Rect:
        """The visible frame (DWM extended frame bounds), without the invisible resize borders of Windows 10+."""
        import ctypes
        from ctypes import wintypes

        user32 = ctypes.windll.user32
        hwnd = user32.GetForegroundWindow()
        if not hwnd:
            raise CaptureError("No window is in the foreground; click the window to capture first.")
        rect = wintypes.RECT()
        dwmapi = ctypes.windll.dwmapi
        if dwmapi.DwmGetWindowAttribute(hwnd, 9, ctypes.byref(rect), ctypes.sizeof(rect)) != 0:
            user32.GetWindowRect(hwnd, ctypes.byref(rect))
        return Rect(rect.left, rect.top, rect.right - rect.left, rect.bottom - rect.top)


def _mac_rect() -> Rect:
    """The frontmost window of the frontmost app through Quartz (pyobjc); in points, which mss on macOS also
    uses."""
    try:
        import Quartz
    except ImportError as e:
        raise CaptureError(
            "Active-window capture on macOS needs pyobjc (pip install pyobjc-framework-Quartz); capture a "
            "region instead."
        ) from e
    options = Quartz.kCGWindowListOptionOnScreenOnly | Quartz.kCGWindowListExcludeDesktopElements
    for info in Quartz.CGWindowListCopyWindowInfo(options, Quartz.kCGNullWindowID) or []:
        if info.get("kCGWindowLayer", 1) == 0:
            b = info["kCGWindowBounds"]
            return Rect(int(b["X"]), int(b["Y"]), int(b["Width"]), int(b["Height"]))
    raise CaptureError("No window is in the foreground; click the window to capture first.")
