"""The Wayland screenshot path over a real D-Bus: a private dbus-daemon and a small service speaking the
org.freedesktop.portal.Screenshot protocol (request object, Response signal with a file URI), as GNOME's and
KDE's portals do. Only the compositor behind it is left out."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.capture import screenshotters
from app.core.capture.geometry import Rect
from app.core.capture.screenshotters import CaptureError, MssScreenshotter, PortalScreenshotter
from tests.support.xvfb import ROOT

pytestmark = pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="dbus-daemon is not installed")

DESKTOP = Rect(-200, 0, 640, 480)


def desktop_picture() -> np.ndarray:
    x = np.arange(DESKTOP.width)[None, :]
    y = np.arange(DESKTOP.height)[:, None]
    rgb = np.zeros((DESKTOP.height, DESKTOP.width, 3), np.uint8)
    rgb[..., 0] = x % 256
    rgb[..., 1] = y % 256
    rgb[..., 2] = (x // 256) * 60
    return rgb


@pytest.fixture
def bus(tmp_path):
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address", f"--address=unix:dir={tmp_path}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    address = proc.stdout.readline().strip() if proc.stdout else ""
    try:
        yield address
    finally:
        proc.terminate()
        proc.wait(5)


def portal_service(bus: str, tmp_path: Path, answer: int = 0, scale: float = 1.0) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, __file__, bus, str(tmp_path), str(answer), str(scale)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_without_a_portal_service_the_reason_is_given(bus):
    assert PortalScreenshotter(bus_address=bus).problem() == "no xdg-desktop-portal service on the session bus"


def test_portal_screenshot_is_cropped_to_the_request(bus, tmp_path):
    service = portal_service(bus, tmp_path)
    try:
        portal = PortalScreenshotter(bus_address=bus, timeout_s=10)
        assert portal.problem() is None
        shot = portal.grab(Rect(-150, 20, 300, 100), DESKTOP)
    finally:
        service.terminate()
        service.wait(5)
    assert shot.rect == Rect(-150, 20, 300, 100)
    expected = desktop_picture()[20:120, 50:350]
    assert np.array_equal(shot.pixels[..., 2::-1], expected)


def test_portal_image_in_logical_pixels_is_scaled_to_the_request(bus, tmp_path):
    service = portal_service(bus, tmp_path, scale=0.5)
    try:
        shot = PortalScreenshotter(bus_address=bus, timeout_s=10).grab(Rect(-200, 0, 640, 480), DESKTOP)
    finally:
        service.terminate()
        service.wait(5)
    assert shot.pixels.shape == (480, 640, 4)
    assert np.abs(shot.pixels[..., 2::-1].astype(int) - desktop_picture()).mean() < 8


@pytest.mark.parametrize(("answer", "message"), [(1, "cancelled"), (2, "refused")])
def test_cancelled_or_refused_screenshots_say_so(bus, tmp_path, answer, message):
    service = portal_service(bus, tmp_path, answer=answer)
    try:
        with pytest.raises(CaptureError, match=message):
            PortalScreenshotter(bus_address=bus, timeout_s=10).grab(Rect(0, 0, 10, 10), DESKTOP)
    finally:
        service.terminate()
        service.wait(5)


def test_wayland_prefers_the_portal_and_mss_declines(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    names = [h.name for h in screenshotters.default_handlers()]
    assert names == ["xdg-desktop-portal", "mss"]
    assert "Wayland" in (MssScreenshotter().problem() or "")


def _serve(bus: str, folder: str, answer: str, scale: str) -> None:
    from jeepney import DBusAddress, HeaderFields, MessageType, new_method_return, new_signal
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import Proxy, open_dbus_connection
    from PIL import Image

    picture = Image.fromarray(desktop_picture())
    factor = float(scale)
    if factor != 1.0:
        picture = picture.resize((round(DESKTOP.width * factor), round(DESKTOP.height * factor)))
    path = Path(folder) / "Screenshot.png"
    picture.save(path)
    with open_dbus_connection(bus=bus) as conn:
        Proxy(message_bus, conn).RequestName(PortalScreenshotter.BUS_NAME, 4)
        print("ready", flush=True)
        while True:
            msg = conn.receive()
            header = msg.header
            if header.message_type != MessageType.method_call:
                continue
            if header.fields.get(HeaderFields.member) != "Screenshot":
                continue
            sender = header.fields[HeaderFields.sender].lstrip(":").replace(".", "_")
            token = msg.body[1]["handle_token"][1]
            request = f"/org/freedesktop/portal/desktop/request/{sender}/{token}"
            conn.send(new_method_return(msg, "o", (request,)))
            time.sleep(0.05)
            results = {"uri": ("s", path.as_uri())} if answer == "0" else {}
            where = DBusAddress(request, interface="org.freedesktop.portal.Request")
            conn.send(new_signal(where, "Response", "ua{sv}", (int(answer), results)))


if __name__ == "__main__":
    _serve(*sys.argv[1:5])
