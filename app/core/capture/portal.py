"""Screenshots and screen recordings through the desktop portal (xdg-desktop-portal over D-Bus, via ``jeepney``),
where the app may not read the screen itself: Wayland (GNOME, KDE, wlroots desktops such as sway).

Every portal call is a request: the method returns at once with a request object, and the answer comes later as
that object's Response signal (0 done, 1 cancelled by the person, 2 refused or failed). In between the desktop
may ask the person in a dialog (GNOME asks once whether apps may take screenshots, and asks which screen to
share for every recording), so the wait runs on a worker thread, says after a moment what it is waiting for,
can be given up (``cancel``), and ends with a message that says what happened.

Recordings use the ScreenCast portal: it hands over a PipeWire stream of the chosen monitor, which GStreamer
(``gst-launch-1.0`` with ``pipewiresrc``, Debian's gstreamer1.0-pipewire) turns into raw frames on a pipe. The
frames feed the same ``Recorder`` as on X11, so a recording is the same fixed-rate MP4 wherever it was made.

What the desktop needs, found by running it (xdg-desktop-portal 1.16 to 1.22): the Screenshot interface is only
offered when an Access backend exists beside the Screenshot one; xdg-desktop-portal-wlr has none, so wlroots
desktops need xdg-desktop-portal-gtk too (GNOME's and KDE's portals bring their own). The frontend picks its
backends by ``XDG_CURRENT_DESKTOP`` as it was when it started (and by ``<desktop>-portals.conf`` from 1.17).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.capture.geometry import Rect, Screen
from app.core.capture.recorder import SourceEnded
from app.core.capture.screenshotters import CaptureError, Shot, load_png_as_shot, scaled_crop

if TYPE_CHECKING:
    import numpy as np

BUS_NAME = "org.freedesktop.portal.Desktop"
OBJECT_PATH = "/org/freedesktop/portal/desktop"
SCREENSHOT = "org.freedesktop.portal.Screenshot"
SCREENCAST = "org.freedesktop.portal.ScreenCast"
REQUEST = "org.freedesktop.portal.Request"
SESSION = "org.freedesktop.portal.Session"
PERMISSION_STORE = "org.freedesktop.impl.portal.PermissionStore"
# How long the portal may take to say what it offers (it is asked on the Qt thread, once; the bus starts it on
# first use, which the app does early, on a worker).
ANSWER_S = 5
# Said once a request has gone unanswered this long: the desktop is probably showing a dialog.
NOTICE_AFTER_S = 1.0
RESPONSE_CANCELLED = 1
# What `glmv` is in the permission store: unsandboxed apps share the app id "".
RESET_SCREENSHOT_PERMISSION = (
    "gdbus call --session --dest org.freedesktop.impl.portal.PermissionStore "
    "--object-path /org/freedesktop/impl/portal/PermissionStore "
    "--method org.freedesktop.impl.portal.PermissionStore.DeletePermission screenshot screenshot ''"
)
GSTREAMER_HINT = (
    "apt install gstreamer1.0-tools gstreamer1.0-pipewire (dnf: gstreamer1-plugins-base-tools pipewire-gstreamer)"
)

# wlroots' portal asks which screen to share when the sources are chosen, GNOME's and KDE's when it starts.
CHOOSE_SCREEN = "you to choose the screen to record: if the desktop asks in a dialog, choose it there"
SHARING_FAILED = (
    "The desktop refused to share the screen for the recording, or its screen-cast backend failed; the desktop "
    "portal's log says which (journalctl --user -u xdg-desktop-portal). On sway and other wlroots desktops, "
    "xdg-desktop-portal-wlr 0.7 shares a screen only when the compositor draws with the GPU."
)

OnWait = Callable[[str], None]


class CaptureCancelled(CaptureError):
    """The person cancelled: in the desktop's dialog, or by giving up the wait in the app."""


class PortalRefused(CaptureError):
    """The portal answered 2: the desktop refused, or its backend failed."""


def _session_bus(bus_address: str | None, enable_fds: bool = False) -> Any:
    from jeepney.io.blocking import open_dbus_connection

    return open_dbus_connection(bus=bus_address or "SESSION", enable_fds=enable_fds)


def portal_problem(interface: str, bus_address: str | None = None) -> str | None:
    """None when the portal offers ``interface`` on this session bus, else why not (for the person)."""
    try:
        import jeepney  # noqa: F401
    except ImportError:
        return "the jeepney package is not installed"
    if not (bus_address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")):
        return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    from jeepney import DBusAddress, Properties, new_method_call
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    try:
        with _session_bus(bus_address) as conn:
            dbus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus")
            activatable = conn.send_and_get_reply(new_method_call(dbus, "ListActivatableNames"), timeout=2)
            owned = conn.send_and_get_reply(new_method_call(dbus, "ListNames"), timeout=2)
            if BUS_NAME not in set(activatable.body[0]) | set(owned.body[0]):
                return "no xdg-desktop-portal service on the session bus"
            portal = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=interface)
            try:
                unwrap_msg(conn.send_and_get_reply(Properties(portal).get("version"), timeout=ANSWER_S))
            except DBusErrorResponse:
                desktop = os.environ.get("XDG_CURRENT_DESKTOP", "") or "not set"
                return (
                    f"the desktop portal runs but offers no {interface.rsplit('.', 1)[-1]} interface (it needs a "
                    "backend for this desktop, and for screenshots an Access backend too: on wlroots desktops "
                    f"install xdg-desktop-portal-wlr and xdg-desktop-portal-gtk; XDG_CURRENT_DESKTOP is {desktop}, "
                    "and the portal must start after it is set)"
                )
    except TimeoutError:
        return f"the desktop portal did not answer within {ANSWER_S} s (it may still be starting: try again)"
    except Exception as e:
        return f"the D-Bus session bus is not reachable ({e or type(e).__name__})"
    return None


def recording_problem(bus_address: str | None = None) -> str | None:
    """None when screen recordings can be made through the ScreenCast portal here, else why not."""
    problem = portal_problem(SCREENCAST, bus_address)
    if problem is not None:
        return problem
    if shutil.which("gst-launch-1.0") is None or shutil.which("gst-inspect-1.0") is None:
        return f"GStreamer's command-line tools are not installed ({GSTREAMER_HINT})"
    found = subprocess.run(["gst-inspect-1.0", "pipewiresrc"], capture_output=True, timeout=30)
    if found.returncode != 0:
        return f"GStreamer's PipeWire source (pipewiresrc) is not installed ({GSTREAMER_HINT})"
    return None


@dataclass
class Requests:
    """Portal requests on one connection, answered through their Response signals."""

    conn: Any
    on_wait: OnWait | None = None
    cancel: threading.Event | None = None

    def call(self, interface: str, member: str, signature: str, body: tuple, timeout: float = 10) -> tuple:
        """A plain method call of the portal; its reply's body."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import DBusErrorResponse, unwrap_msg

        portal = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=interface)
        try:
            return tuple(
                unwrap_msg(
                    self.conn.send_and_get_reply(new_method_call(portal, member, signature, body), timeout=timeout)
                )
            )
        except DBusErrorResponse as e:
            raise CaptureError(f"The desktop portal refused {member} ({e}).") from e
        except TimeoutError as e:
            raise CaptureError(f"The desktop portal did not answer {member} within {timeout:.0f} s.") from e

    def request(
        self,
        interface: str,
        member: str,
        signature: str,
        args: tuple,
        options: dict[str, tuple[str, Any]],
        *,
        what: str,
        waiting_for: str,
        timeout_s: float,
        refused: str,
    ) -> dict[str, Any]:
        """``member(*args, options)``, then its Response: the results when it is 0. ``what`` names the capture
        ("the screenshot"), ``waiting_for`` ends the sentence "Waiting for ..." said when the answer is slow, and
        ``refused`` is the message for code 2."""
        from jeepney import HeaderFields, MatchRule, message_bus
        from jeepney.io.blocking import Proxy

        token = "glmv" + secrets.token_hex(8)
        sender = self.conn.unique_name.lstrip(":").replace(".", "_")
        folder = f"{OBJECT_PATH}/request/{sender}"
        # Subscribed before the call, so an answer given at once is not missed; by namespace, because portals
        # older than 0.9 chose the path themselves.
        rule = MatchRule(type="signal", interface=REQUEST, member="Response", path_namespace=folder)
        Proxy(message_bus, self.conn).AddMatch(rule)
        expected = {f"{folder}/{token}"}
        with self.conn.filter(rule, bufsize=8) as responses:
            (handle,) = self.call(interface, member, signature, (*args, {**options, "handle_token": ("s", token)}))
            expected.add(handle)
            started = time.monotonic()
            told = False
            while True:
                if self.cancel is not None and self.cancel.is_set():
                    self._close(handle)
                    raise CaptureCancelled(f"Stopped waiting for the desktop; {what} was cancelled.")
                waited = time.monotonic() - started
                if waited >= timeout_s:
                    self._close(handle)
                    raise CaptureError(
                        f"Waited {timeout_s:.0f} s for {waiting_for} without an answer. If the desktop shows a "
                        "dialog, answer or close it, then try again."
                    )
                if not told and waited >= NOTICE_AFTER_S and self.on_wait is not None:
                    told = True
                    self.on_wait(f"Waiting for {waiting_for}.")
                try:
                    signal = self.conn.recv_until_filtered(responses, timeout=min(0.1, timeout_s - waited))
                except TimeoutError:
                    continue
                if signal.header.fields.get(HeaderFields.path) in expected:
                    break
        code, results = signal.body
        if code == RESPONSE_CANCELLED:
            raise CaptureCancelled(f"{what[0].upper()}{what[1:]} was cancelled in the desktop's dialog.")
        if code != 0:
            raise PortalRefused(refused)
        return dict(results)

    def _close(self, handle: str) -> None:
        """Tell the portal we no longer wait (it closes its dialog where it can); its reply is not awaited, as
        some portals answer only once the dialog has gone."""
        from jeepney import DBusAddress, new_method_call

        with contextlib.suppress(OSError):
            self.conn.send(new_method_call(DBusAddress(handle, bus_name=BUS_NAME, interface=REQUEST), "Close"))


class PortalScreenshotter:
    """org.freedesktop.portal.Screenshot (GNOME, KDE, wlroots with xdg-desktop-portal-wlr and -gtk).

    The portal answers with a PNG of the whole desktop; it may be in logical rather than native pixels (some
    compositors), so the crop is scaled by the ratio between the image and ``desktop``. The file is the portal's
    copy for us (GNOME keeps it in ~/Pictures): it is removed once read, so captures do not pile up there; the app
    keeps its own copy. ``on_wait`` hears once when the desktop is slow to answer (a dialog)."""

    name = "xdg-desktop-portal"
    install_hint = (
        "install xdg-desktop-portal and the one for your desktop (xdg-desktop-portal-gnome or -kde; on wlroots "
        "desktops such as sway both -wlr and -gtk), and pip install jeepney"
    )
    BUS_NAME = BUS_NAME
    OBJECT_PATH = OBJECT_PATH
    INTERFACE = SCREENSHOT

    def __init__(self, timeout_s: float = 60.0, bus_address: str | None = None) -> None:
        self.timeout_s = timeout_s
        self.bus_address = bus_address
        self.on_wait: OnWait | None = None

    def problem(self) -> str | None:
        return portal_problem(SCREENSHOT, self.bus_address)

    def grab(self, rect: Rect, desktop: Rect) -> Shot:
        path = self.request_screenshot()
        try:
            full = load_png_as_shot(path, desktop)
        finally:
            path.unlink(missing_ok=True)
        return scaled_crop(full, rect, desktop)

    def request_screenshot(self) -> Path:
        from urllib.parse import unquote, urlparse

        with _session_bus(self.bus_address) as conn:
            requests = Requests(conn, self.on_wait)
            try:
                results = requests.request(
                    SCREENSHOT,
                    "Screenshot",
                    "sa{sv}",
                    ("",),
                    {"interactive": ("b", False), "modal": ("b", False)},
                    what="the screenshot",
                    waiting_for="the desktop to take the screenshot: if it asks in a dialog, answer it there",
                    timeout_s=self.timeout_s,
                    refused="The desktop refused the screenshot.",
                )
            except PortalRefused:
                raise CaptureError(self._refusal(conn)) from None
        uri = results.get("uri", ("s", ""))[1]
        path = Path(unquote(urlparse(uri).path))
        if not path.is_file():
            raise CaptureError(f"The desktop answered with a screenshot that cannot be read: {uri!r}.")
        return path

    @staticmethod
    def _refusal(conn: Any) -> str:
        """Why the desktop said no, as precisely as it can be known: a "Deny" answered in its dialog is kept in
        the permission store, and every later request is refused without asking."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import unwrap_msg

        store = DBusAddress(
            "/org/freedesktop/impl/portal/PermissionStore", bus_name=PERMISSION_STORE, interface=PERMISSION_STORE
        )
        try:
            permissions, _ = unwrap_msg(
                conn.send_and_get_reply(new_method_call(store, "Lookup", "ss", ("screenshot", "screenshot")), timeout=5)
            )
        except Exception:
            permissions = {}
        if list(permissions.get("", [])) == ["no"]:
            return (
                "The desktop refused the screenshot: screenshots were denied in its dialog (now or before), and "
                "it remembers that. To be asked again, run this command, then capture again: "
                + RESET_SCREENSHOT_PERMISSION
            )
        return (
            "The desktop refused the screenshot. Allow screenshots for this app in the desktop's privacy settings, "
            "or check the desktop portal's log (journalctl --user -u xdg-desktop-portal)."
        )


# ------------------------------------------------------------------------------------------ recordings


@dataclass
class Stream:
    """One PipeWire stream the ScreenCast portal started: its node, and where it is on the desktop (logical
    pixels) when the portal says so."""

    node: int
    position: tuple[int, int] | None
    size: tuple[int, int] | None


class ScreenCast:
    """One ScreenCast session: a monitor chosen (the desktop may ask which), a PipeWire remote to read it from.
    The session lives as long as its D-Bus connection, so ``close`` ends it."""

    def __init__(self, bus_address: str | None = None, timeout_s: float = 120.0) -> None:
        self.bus_address = bus_address
        self.timeout_s = timeout_s
        self.on_wait: OnWait | None = None
        self.cancel = threading.Event()
        self.closed = threading.Event()  # set when the desktop ends the session
        self._conn: Any = None
        self._session = ""

    def cancel_wait(self) -> None:
        """Give up waiting for the desktop (from any thread): ``start`` ends with CaptureCancelled."""
        self.cancel.set()

    def problem(self) -> str | None:
        return portal_problem(SCREENCAST, self.bus_address)

    def start(self) -> tuple[list[Stream], int]:
        """Streams of the chosen monitor and a PipeWire file descriptor (the caller closes it)."""
        from jeepney import DBusAddress, Properties
        from jeepney.wrappers import unwrap_msg

        self._conn = _session_bus(self.bus_address, enable_fds=True)
        try:
            requests = Requests(self._conn, self.on_wait, self.cancel)
            session_token = "glmv" + secrets.token_hex(8)
            created = requests.request(
                SCREENCAST,
                "CreateSession",
                "a{sv}",
                (),
                {"session_handle_token": ("s", session_token)},
                what="the recording",
                waiting_for="the desktop to open a screen recording session",
                timeout_s=self.timeout_s,
                refused="The desktop refused to start a screen recording session.",
            )
            self._session = str(created["session_handle"][1])
            portal = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=SCREENCAST)
            modes = unwrap_msg(self._conn.send_and_get_reply(Properties(portal).get("AvailableCursorModes"), timeout=5))
            options: dict[str, tuple[str, Any]] = {"types": ("u", 1), "multiple": ("b", False)}
            if modes[0][1] & 1:  # hidden, as the X11 recordings are
                options["cursor_mode"] = ("u", 1)
            requests.request(
                SCREENCAST,
                "SelectSources",
                "oa{sv}",
                (self._session,),
                options,
                what="the recording",
                waiting_for=CHOOSE_SCREEN,
                timeout_s=self.timeout_s,
                refused="The desktop refused the screen to record.",
            )
            started = requests.request(
                SCREENCAST,
                "Start",
                "osa{sv}",
                (self._session, ""),
                {},
                what="the recording",
                waiting_for=CHOOSE_SCREEN,
                timeout_s=self.timeout_s,
                refused=SHARING_FAILED,
            )
            streams = [_stream(node, props) for node, props in started.get("streams", ("a(ua{sv})", []))[1]]
            if not streams:
                raise CaptureError("The desktop shared no screen for the recording; choose one when it asks.")
            (remote,) = requests.call(SCREENCAST, "OpenPipeWireRemote", "oa{sv}", (self._session, {}))
            fd = remote.to_raw_fd()
        except BaseException:
            self.close()
            raise
        threading.Thread(target=self._watch, args=(self._conn,), name="screencast-session", daemon=True).start()
        return streams, fd

    def _watch(self, conn: Any) -> None:
        """Until the connection closes: the desktop's Closed signal on our session (its "stop sharing")."""
        from jeepney import MatchRule, message_bus
        from jeepney.io.blocking import Proxy

        rule = MatchRule(type="signal", interface=SESSION, member="Closed", path=self._session)
        try:
            with conn.filter(rule) as closed:
                Proxy(message_bus, conn).AddMatch(rule)
                conn.recv_until_filtered(closed)
        except Exception:  # the connection went away: ours, closed by ``close``
            return
        self.closed.set()

    def close(self) -> None:
        if self._conn is None:
            return
        from jeepney import DBusAddress, new_method_call

        conn, self._conn = self._conn, None
        try:
            if self._session:
                conn.send(new_method_call(DBusAddress(self._session, bus_name=BUS_NAME, interface=SESSION), "Close"))
        except OSError:
            pass
        finally:
            conn.close()


def _stream(node: int, props: dict[str, tuple[str, Any]]) -> Stream:
    position = props.get("position")
    size = props.get("size")
    return Stream(
        int(node),
        (int(position[1][0]), int(position[1][1])) if position else None,
        (int(size[1][0]), int(size[1][1])) if size else None,
    )


class StreamEnded(SourceEnded):
    """The desktop stopped the stream (the person pressed its "stop sharing"): the recording ends, kept."""


class PipeWireFrames:
    """The frames of one PipeWire stream as BGRx arrays of ``size`` (native pixels), read from GStreamer on a
    thread of its own; ``latest`` is the newest. Nothing is queued: a slow reader sees fewer frames, never old
    ones, and memory stays at one frame. GStreamer passes at most ``max_rate`` frames a second (a compositor
    may send 60), so the conversion costs no more than the recording needs."""

    def __init__(self, fd: int, node: int, size: tuple[int, int], max_rate: int = 30) -> None:
        gst = shutil.which("gst-launch-1.0")
        if gst is None:
            raise CaptureError(f"Recording on Wayland needs GStreamer's command-line tools: {GSTREAMER_HINT}.")
        self.size = size
        w, h = size
        pipeline = [
            gst, "-q",
            "pipewiresrc", f"fd={fd}", f"path={node}", "always-copy=true", "do-timestamp=true", "!",
            "videorate", f"max-rate={max_rate}", "!",
            "videoconvert", "!", "videoscale", "!", f"video/x-raw,format=BGRx,width={w},height={h}", "!",
            "fdsink", "fd=1", "sync=false",
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            pipeline, pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._latest: np.ndarray | None = None
        self._count = 0
        self._ready = threading.Condition()
        self._ended = False
        self._reader = threading.Thread(target=self._read, name="pipewire-frames", daemon=True)
        self._reader.start()

    @property
    def count(self) -> int:
        return self._count

    def latest(self, timeout: float = 10.0) -> np.ndarray:
        """The newest frame; the first is awaited up to ``timeout``."""
        with self._ready:
            self._ready.wait_for(lambda: self._latest is not None or self._ended, timeout)
            frame, ended = self._latest, self._ended
        if ended:
            raise self._why_ended(frame is not None)
        if frame is None:
            raise CaptureError(f"The desktop's screen stream sent no picture within {timeout:.0f} s.")
        return frame

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reader.join(5)
        if self._proc.stderr is not None:
            self._proc.stderr.close()

    def _read(self) -> None:
        import numpy as np

        w, h = self.size
        frame_bytes = w * h * 4
        out = self._proc.stdout
        assert out is not None
        try:
            while True:
                data = out.read(frame_bytes)
                if len(data) < frame_bytes:
                    break
                frame = np.frombuffer(data, np.uint8).reshape(h, w, 4)
                with self._ready:
                    self._latest = frame
                    self._count += 1
                    self._ready.notify_all()
        finally:
            out.close()
            with self._ready:
                self._ended = True
                self._ready.notify_all()

    def _why_ended(self, had_frames: bool) -> CaptureError:
        self._proc.wait(5)
        err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
        if "no element" in err and "pipewiresrc" in err:
            return CaptureError(f"GStreamer has no PipeWire source (pipewiresrc): {GSTREAMER_HINT}.")
        if had_frames:
            return StreamEnded("The desktop stopped sharing the screen, so the recording ended there.")
        detail = " ".join(err.split())[-300:] or f"exit status {self._proc.returncode}"
        return CaptureError(f"The desktop's screen stream could not be read ({detail}).")


class ScreenCastSource:
    """What a Wayland recording grabs: ``rect`` (native desktop pixels) out of the PipeWire stream of the monitor
    it is on, which the ScreenCast portal shares. ``open`` may wait for the desktop's dialog."""

    def __init__(self, rect: Rect, screens: Sequence[Screen], cast: ScreenCast | None = None, fps: int = 10) -> None:
        self.rect = rect
        self.fps = fps
        self.screens = list(screens)
        self.cast = cast or ScreenCast()
        self.frames: PipeWireFrames | None = None
        self.screen: Screen | None = None

    def open(self) -> ScreenCastSource:
        problem = recording_problem(self.cast.bus_address)
        if problem is not None:
            raise CaptureError(f"Recording cannot start here: {problem}.")
        streams, fd = self.cast.start()
        try:
            self.attach(streams[0], fd)
        except BaseException:
            self.cast.close()
            raise
        finally:
            os.close(fd)
        return self

    def attach(self, stream: Stream, fd: int) -> None:
        """Read ``stream`` through ``fd``, a connection to PipeWire (the caller keeps and closes its own copy);
        returns once the first frame is in."""
        screen = self._screen_of(stream)
        if self.rect.intersection(screen.native) != self.rect:
            raise CaptureError(
                f"The desktop shares the screen {screen.name}, but the area to record is not on it. Record "
                "again and choose the screen the area is on when the desktop asks."
            )
        self.screen = screen
        # Twice the recording's rate: the grabs sample the newest frame, so none waits for one long.
        size = (screen.native.width, screen.native.height)
        self.frames = PipeWireFrames(fd, stream.node, size, max_rate=2 * self.fps)
        try:
            self.frames.latest()
        except BaseException:
            self.frames.close()
            raise

    def grab(self) -> np.ndarray:
        assert self.frames is not None and self.screen is not None
        if self.cast.closed.is_set():
            raise StreamEnded("The desktop stopped sharing the screen, so the recording ended there.")
        frame = self.frames.latest()
        x, y = self.rect.x - self.screen.native.x, self.rect.y - self.screen.native.y
        return frame[y : y + self.rect.height, x : x + self.rect.width]

    def close(self) -> None:
        if self.frames is not None:
            self.frames.close()
        self.cast.close()

    def _screen_of(self, stream: Stream) -> Screen:
        """Our screen the stream shows: by its position where the portal gives one, else by its size."""
        if stream.position is not None:
            at = [s for s in self.screens if (s.geometry.x, s.geometry.y) == stream.position]
            if len(at) == 1:
                return at[0]
        if len(self.screens) == 1:
            return self.screens[0]
        if stream.size is not None:
            sized = [s for s in self.screens if (s.geometry.width, s.geometry.height) == stream.size]
            if len(sized) == 1:
                return sized[0]
        raise CaptureError("The desktop did not say which screen it shares; record a single screen instead.")
