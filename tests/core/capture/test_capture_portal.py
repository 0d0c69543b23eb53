"""The Wayland screenshot path over a real D-Bus: a private dbus-daemon and a small service speaking the
org.freedesktop.portal.Screenshot protocol (request object, Response signal with a file URI), as GNOME's and
KDE's portals do, answering what the real frontend on wlroots never does (an image in logical pixels, a cancel).
Only the compositor behind it is left out; tests/app/test_app_wayland.py runs the real portal on a real compositor.

The bus knows no services of its own: on a machine with xdg-desktop-portal installed, a session bus with the
standard configuration would start the real one in place of the service under test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.capture import screenshotters
from app.core.capture.geometry import Rect, Screen
from app.core.capture.portal import (
    BUS_NAME,
    CHOOSE_SCREEN,
    CaptureCancelled,
    PortalScreenshotter,
    ScreenCast,
    ScreenCastSource,
    Stream,
)
from app.core.capture.screenshotters import CaptureError, MssScreenshotter
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


BUS_CONFIG = """<busconfig>
  <type>session</type>
  <listen>unix:dir={folder}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/>
  </policy>
</busconfig>
"""


@pytest.fixture
def bus(tmp_path):
    config = tmp_path / "bus.conf"
    config.write_text(BUS_CONFIG.format(folder=tmp_path))
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
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


# ------------------------------------------------------------------------------------------ ScreenCast

CAST = {"position": ("(ii)", (0, 0)), "size": ("(ii)", (640, 480)), "source_type": ("u", 1)}


def screencast_service(bus: str, mode: str) -> subprocess.Popen:
    """A ScreenCast portal: ``answer`` starts at once and closes the session half a second after handing
    over the PipeWire connection (the person pressing the desktop's "stop sharing"); ``ask`` leaves Start
    unanswered, as an open dialog does; ``cancel`` answers Start with 1 after 1.5 s, as the dialog's Cancel
    does. It prints each call it gets."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "screencast", bus, mode],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_screencast_session_streams_a_pipewire_connection_and_hears_the_desktop_stop(bus):
    service = screencast_service(bus, "answer")
    cast = ScreenCast(bus_address=bus, timeout_s=10)
    try:
        assert cast.problem() is None
        streams, fd = cast.start()
        assert streams == [Stream(42, (0, 0), (640, 480))]
        with socket.socket(fileno=fd) as remote:  # what the portal handed over is a live connection
            remote.sendall(b"ping")
            assert remote.recv(4) == b"pong"
        assert cast.closed.wait(5), "the desktop's Closed signal was not heard"
        cast.close()
    finally:
        service.terminate()
        calls = service.communicate(timeout=5)[0].split()
    assert calls[:4] == [
        "CreateSession",
        "SelectSources:types=1,multiple=False,cursor_mode=1",
        "Start",
        "OpenPipeWireRemote",
    ]


def test_a_slow_screen_choice_is_announced_and_pressing_record_again_gives_up_the_wait(bus):
    service = screencast_service(bus, "ask")
    cast = ScreenCast(bus_address=bus, timeout_s=10)
    said: list[str] = []
    cast.on_wait = lambda message: (said.append(message), threading.Timer(0.3, cast.cancel_wait).start())
    started = time.monotonic()
    try:
        with pytest.raises(CaptureCancelled, match="Stopped waiting for the desktop; the recording was cancelled"):
            cast.start()
        assert time.monotonic() - started < 2.5, "it waited for the desktop's answer after being told to stop"
    finally:
        time.sleep(0.2)
        service.terminate()
        calls = service.communicate(timeout=5)[0].split()
    assert said == [f"Waiting for {CHOOSE_SCREEN}."]
    assert "Close" in calls, "the portal was not told that nobody waits any more"


def test_cancel_in_the_desktops_screen_dialog_is_a_cancel(bus):
    service = screencast_service(bus, "cancel")
    try:
        with pytest.raises(CaptureCancelled, match="The recording was cancelled in the desktop's dialog"):
            ScreenCast(bus_address=bus, timeout_s=10).start()
    finally:
        service.terminate()
        service.wait(5)


LEFT = Screen.from_qt("DP-1", Rect(0, 0, 1920, 1080), 1.0)
RIGHT = Screen.from_qt("DP-2", Rect(1920, 0, 1280, 1024), 1.0)


@pytest.mark.parametrize(
    ("stream", "screens", "shared"),
    [
        (Stream(7, (1920, 0), (1280, 1024)), [LEFT, RIGHT], "DP-2"),  # by its position
        (Stream(7, None, (1920, 1080)), [LEFT, RIGHT], "DP-1"),  # no position (xdg-desktop-portal-wlr 0.7): size
        (Stream(7, None, None), [RIGHT], "DP-2"),  # one screen: that one
    ],
)
def test_the_shared_stream_is_matched_to_our_screen(stream, screens, shared):
    assert ScreenCastSource(Rect(0, 0, 10, 10), screens)._screen_of(stream).name == shared


def test_an_area_on_another_screen_than_the_shared_one_says_to_choose_the_right_one():
    source = ScreenCastSource(Rect(100, 100, 400, 300), [LEFT, RIGHT])
    with pytest.raises(CaptureError, match="shares the screen DP-2, but the area to record is not on it"):
        source.attach(Stream(7, (1920, 0), (1280, 1024)), fd=-1)
    with pytest.raises(CaptureError, match="did not say which screen"):
        ScreenCastSource(Rect(0, 0, 10, 10), [LEFT, RIGHT])._screen_of(Stream(7, None, (800, 600)))


def _serve_screencast(bus: str, mode: str) -> None:
    from jeepney import DBusAddress, HeaderFields, MessageType, new_method_return, new_signal
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import Proxy, open_dbus_connection

    def respond(request: str, code: int, results: dict) -> None:
        where = DBusAddress(request, interface="org.freedesktop.portal.Request")
        conn.send(new_signal(where, "Response", "ua{sv}", (code, results)))

    with open_dbus_connection(bus=bus, enable_fds=True) as conn:
        Proxy(message_bus, conn).RequestName(BUS_NAME, 4)
        print("ready", flush=True)
        session = ""
        ours, theirs = socket.socketpair()
        while True:
            msg = conn.receive()
            header = msg.header
            if header.message_type != MessageType.method_call:
                continue
            member = header.fields.get(HeaderFields.member)
            sender = header.fields[HeaderFields.sender].lstrip(":").replace(".", "_")
            if member == "Get":
                value = ("u", 7) if msg.body[1] == "AvailableCursorModes" else ("u", 4)
                conn.send(new_method_return(msg, "v", (value,)))
                continue
            if member == "Close":
                print("Close", flush=True)
                conn.send(new_method_return(msg))
                continue
            if member == "OpenPipeWireRemote":
                print(member, flush=True)
                conn.send(new_method_return(msg, "h", (theirs,)))
                if ours.recv(4) == b"ping":
                    ours.sendall(b"pong")
                time.sleep(0.5)
                conn.send(
                    new_signal(
                        DBusAddress(session, interface="org.freedesktop.portal.Session"), "Closed", "a{sv}", ({},)
                    )
                )
                continue
            options = msg.body[-1]
            request = f"/org/freedesktop/portal/desktop/request/{sender}/{options['handle_token'][1]}"
            conn.send(new_method_return(msg, "o", (request,)))
            if member == "CreateSession":
                print(member, flush=True)
                session = f"/org/freedesktop/portal/desktop/session/{sender}/{options['session_handle_token'][1]}"
                respond(request, 0, {"session_handle": ("s", session)})
            elif member == "SelectSources":
                chosen = ",".join(f"{k}={v[1]}" for k, v in options.items() if k != "handle_token")
                print(f"{member}:{chosen}", flush=True)
                respond(request, 0, {})
            elif member == "Start":
                print(member, flush=True)
                if mode == "answer":
                    respond(request, 0, {"streams": ("a(ua{sv})", [(42, CAST)])})
                elif mode == "cancel":
                    time.sleep(1.5)
                    respond(request, 1, {})
                # "ask": the dialog stays open, unanswered, until the app gives up and says so (Close)


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
            member = header.fields.get(HeaderFields.member)
            if member == "Get" and msg.body[:2] == (PortalScreenshotter.INTERFACE, "version"):
                conn.send(new_method_return(msg, "v", (("u", 2),)))
                continue
            if member != "Screenshot":
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
    if sys.argv[1] == "screencast":
        _serve_screencast(*sys.argv[2:4])
    else:
        _serve(*sys.argv[1:5])
