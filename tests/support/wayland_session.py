"""A headless Wayland desktop for the tests: sway with its portals, PipeWire and a D-Bus session of its own, for
the app to run in as on a person's wlroots desktop.

``wayland_session()`` starts, in order, and stops again afterwards:
- an unprivileged user to run it all: sway refuses to run as root ("Unable to drop root"), and CI runs as root.
  As root, the dedicated account ``glmv-wayland`` is made when missing (useradd) and given search access to the
  folders above the Python interpreter and the checkout (an ACL for that account only, or the "x" bit for others
  where ACLs cannot be set; both undone afterwards); the code is copied for it where the checkout cannot be read.
  Run as anyone else, the session is simply that person's.
- a runtime folder (0700) and a home with the configuration below;
- sway on wlroots' headless backend (``WLR_BACKENDS=headless``, ``WLR_RENDERER=pixman``, no input devices), one
  output of the asked size, its wallpaper the picture asked for (the tests' position-coding pattern); the
  pointer is hidden after 100 ms at rest, because a headless output draws it into every frame it shows (a real
  one keeps it on its own plane, out of screenshots);
- a D-Bus session bus, started once the Wayland display exists and with the session's whole environment
  (``WAYLAND_DISPLAY``, ``XDG_RUNTIME_DIR``, ``XDG_CURRENT_DESKTOP=sway``): what ``dbus-update-activation-environment``
  does in a login session, so every service it starts (the portal backends) reaches the compositor;
- PipeWire and WirePlumber, for the ScreenCast portal's streams;
- xdg-desktop-portal, whose backends the bus starts: xdg-desktop-portal-wlr (Screenshot, ScreenCast) and
  xdg-desktop-portal-gtk, whose Access interface the frontend requires before it offers Screenshot at all. That
  is why the Screenshot portal was missing on a first try with -wlr alone. The frontend chooses backends by
  ``XDG_CURRENT_DESKTOP`` when it starts (xdg-desktop-portal 1.16, Debian 12) or by ``sway-portals.conf``
  (1.17 on), which is written too; -wlr's screen cast takes the one output without asking (``chooser_type=none``),
  and its screenshot asks nothing when the request is not interactive, which the app's never is.

People act through a virtual pointer (``tests/wayland_pointer.py``) and ``wtype`` (a virtual keyboard); the tests
look through ``grim`` and sway's IPC (``swaymsg -t get_tree``).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from tests.support import xvfb
from tests.support.openai_server import OpenAIServer
from tests.support.profiled_app import APP, Profile, Running
from tests.support.wayland_pointer import VirtualPointer
from tests.support.xvfb import ROOT

USER = "glmv-wayland"
TOOLS = {
    "sway": "sway",
    "swaymsg": "sway",
    "swaybg": "swaybg",
    "grim": "grim",
    "wtype": "wtype",
    "pipewire": "pipewire",
    "wireplumber": "wireplumber",
    "dbus-daemon": "dbus",
    "gst-launch-1.0": "gstreamer1.0-tools",
    "gst-inspect-1.0": "gstreamer1.0-tools",
    "pw-dump": "pipewire-bin",
}
LIBEXEC = Path("/usr/libexec")
PORTALS = {
    "xdg-desktop-portal": "xdg-desktop-portal",
    "xdg-desktop-portal-wlr": "xdg-desktop-portal-wlr",
    "xdg-desktop-portal-gtk": "xdg-desktop-portal-gtk",
}
# xdg-desktop-portal-wlr 0.7 saves every screenshot here, whoever asks: a copy another account left behind
# would make grim fail for ours.
WLR_SCREENSHOT_FILE = Path("/tmp/out.png")

SWAY_CONFIG = """\
output {output} resolution {width}x{height} position 0 0 bg {background}
default_border none
default_floating_border none
focus_on_window_activation focus
seat * hide_cursor 100
"""
WLR_CONFIG = """\
[screencast]
chooser_type=simple
chooser_cmd={chooser}
max_fps=30
"""
# xdg-desktop-portal-wlr's way of asking the person which screen to share is a chooser program (slurp, wofi):
# this one answers at once, as chooser_type=none would, unless a test asks it to wait for an answer as a
# person choosing would (``WaylandSession.chooser``). An empty answer is the person declining.
CHOOSER = """\
#!/bin/sh
folder={folder}
if [ -e "$folder/ask" ]; then
    : > "$folder/asking"
    while [ ! -e "$folder/answer" ]; do sleep 0.05; done
    cat "$folder/answer"
    rm -f "$folder/answer" "$folder/asking"
else
    echo {output}
fi
"""
# Read by xdg-desktop-portal 1.17 and later (sway 1.9 ships the same); Debian 12's 1.16 goes by the
# XDG_CURRENT_DESKTOP each backend's .portal file lists.
PORTALS_CONF = """\
[preferred]
default=gtk
org.freedesktop.impl.portal.Screenshot=wlr
org.freedesktop.impl.portal.ScreenCast=wlr
"""
OUTPUT = "HEADLESS-1"
SERVICE = "[D-BUS Service]\nName={name}\nExec={exec}\n"
VERBOSE_SERVICES = {
    "org.freedesktop.portal.Desktop": f"{LIBEXEC}/xdg-desktop-portal --verbose",
    "org.freedesktop.impl.portal.desktop.wlr": f"{LIBEXEC}/xdg-desktop-portal-wlr --loglevel=INFO",
}
BUS_CONFIG = """\
<busconfig>
  <include>/usr/share/dbus-1/session.conf</include>
  <policy context="default"><allow user="{user}"/><allow user="root"/></policy>
</busconfig>
"""


def missing() -> str | None:
    """Why a Wayland session cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "a headless Wayland session needs Linux"
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package}; scripts/setup --test installs it)"
    for name, package in PORTALS.items():
        if not (LIBEXEC / name).is_file():
            return f"{LIBEXEC / name} is not installed (apt-get install {package})"
    if subprocess.run(["gst-inspect-1.0", "pipewiresrc"], capture_output=True).returncode != 0:
        return "GStreamer's pipewiresrc is not installed (apt-get install gstreamer1.0-pipewire)"
    return None


class SessionError(Exception):
    """The session could not start; the message says why (the tests skip with it where that is no fault of
    the code under test, such as a machine that cannot make the account)."""


class Account:
    """Who runs the session: the dedicated account when we are root, else ourselves (``uid`` None)."""

    def __init__(self) -> None:
        self.uid: int | None = None
        self.gid: int | None = None
        self.name = pwd.getpwuid(os.getuid()).pw_name
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam(USER)
        except KeyError:
            made = subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", USER],
                capture_output=True, text=True,
            )  # fmt: skip
            if made.returncode != 0:
                raise SessionError(
                    f"sway refuses to run as root, and the unprivileged account {USER} could not be made "
                    f"(useradd: {made.stderr.strip() or made.returncode}); make it by hand (useradd --system {USER})"
                ) from None
            entry = pwd.getpwnam(USER)
        self.uid, self.gid, self.name = entry.pw_uid, entry.pw_gid, entry.pw_name

    def popen_args(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> Path:
        if self.uid is not None:
            os.chown(path, self.uid, self.gid or -1)
        return path

    def can(self, test: str, path: Path) -> bool:
        """``test -r`` / ``test -x`` on ``path`` as this account."""
        done = subprocess.run(["test", test, str(path)], capture_output=True, **self.popen_args())
        return done.returncode == 0


def _grant_search(account: Account, paths: Sequence[Path]) -> list[Callable[[], None]]:
    """Lets ``account`` reach ``paths`` through folders it may not enter (root's home holds pyenv's Python, a CI
    checkout may lie anywhere): search permission only, never reading a folder's list. Returns the undo steps."""
    undo: list[Callable[[], None]] = []
    if account.uid is None:
        return undo
    folders: list[Path] = []
    for path in paths:
        for folder in [*reversed(path.parents), path] if path.is_dir() else reversed(path.parents):
            if folder not in folders:
                folders.append(folder)
    acl = shutil.which("setfacl") is not None and shutil.which("getfacl") is not None
    for folder in folders:
        if account.can("-x", folder):
            continue
        entry = f"u:{account.name}:x"
        # As it was, exactly: removing the entry alone would leave the mask it brought.
        before = subprocess.run(["getfacl", "-p", str(folder)], capture_output=True, text=True).stdout if acl else ""
        if before and subprocess.run(["setfacl", "-m", entry, str(folder)], capture_output=True).returncode == 0:
            undo.append(
                lambda saved=before: subprocess.run(["setfacl", "--restore=-"], input=saved, text=True, check=False)
            )
        else:
            mode = stat.S_IMODE(folder.stat().st_mode)
            folder.chmod(mode | stat.S_IXOTH)
            undo.append(lambda f=folder, m=mode: f.chmod(m))
    return undo


class WaylandSession:
    """A running session (see the module's docstring); ``env`` is the environment of its clients."""

    def __init__(self, width: int, height: int, background: np.ndarray | None) -> None:
        self.width, self.height = width, height
        self.account = Account()
        self._undo: list[Callable[[], None]] = []
        self._procs: list[tuple[str, subprocess.Popen]] = []
        self._pointer: VirtualPointer | None = None
        self.root = Path(tempfile.mkdtemp(prefix="glmv-wayland-"))
        self.root.chmod(0o755)
        self.logs = self.root / "logs"
        self.logs.mkdir()
        self.runtime = self.folder("runtime", 0o700)
        self.home = self.folder("home")
        self.src = ROOT
        config = self.home / ".config"
        bg = "#3a6ea5 solid_color"
        if background is not None:
            from PIL import Image

            wallpaper = self.folder("wallpaper") / "wallpaper.png"
            Image.fromarray(background).save(wallpaper)
            bg = f"{wallpaper} center #000000"
        self._config(
            config / "sway" / "config", SWAY_CONFIG.format(output=OUTPUT, width=width, height=height, background=bg)
        )
        self.chooser_folder = self.folder("chooser")
        chooser = self.chooser_folder / "choose-output"
        self._config(chooser, CHOOSER.format(folder=self.chooser_folder, output=OUTPUT))
        chooser.chmod(0o755)
        self._config(config / "xdg-desktop-portal-wlr" / "config", WLR_CONFIG.format(chooser=chooser))
        self._config(config / "xdg-desktop-portal" / "sway-portals.conf", PORTALS_CONF)
        # The bus starts the portals when first asked, as in a login session; these copies of their D-Bus
        # service files (found first, in the home's data folder) only make them say more in logs/dbus.log.
        services = self.home / ".local" / "share" / "dbus-1" / "services"
        for service, argv in VERBOSE_SERVICES.items():
            self._config(services / f"{service}.service", SERVICE.format(name=service, exec=argv))
        self.env: dict[str, str] = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "USER": self.account.name,
            "LOGNAME": self.account.name,
            "LANG": "C.UTF-8",
            "XDG_RUNTIME_DIR": str(self.runtime),
            "XDG_CONFIG_HOME": str(config),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CURRENT_DESKTOP": "sway",
            "XDG_SESSION_TYPE": "wayland",
            # GTK's accessibility bridge (in xdg-desktop-portal-gtk) sometimes holds the portal's start for 25 s.
            "NO_AT_BRIDGE": "1",
            # Compiled modules go here: the account may not write beside the checkout's sources.
            "PYTHONPYCACHEPREFIX": str(self.folder("pycache")),
        }
        self.bus_address = ""

    # ----- starting and stopping

    def start(self) -> None:
        self._prepare_access()
        if WLR_SCREENSHOT_FILE.exists() and WLR_SCREENSHOT_FILE.stat().st_uid != os.geteuid() and os.geteuid() == 0:
            WLR_SCREENSHOT_FILE.unlink()
        sway_env = {**self.env, "WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman", "WLR_LIBINPUT_NO_DEVICES": "1"}
        self._start("sway", ["sway", "--config", str(self.home / ".config" / "sway" / "config")], sway_env)
        socket = self._until(lambda: next(iter(sorted(self.runtime.glob("wayland-*[0-9]"))), None), "sway's socket")
        ipc = self._until(lambda: next(iter(self.runtime.glob("sway-ipc.*.sock")), None), "sway's IPC socket")
        self.env.update(WAYLAND_DISPLAY=socket.name, SWAYSOCK=str(ipc))
        self._until(lambda: any(o.get("active") for o in self.swaymsg("-t", "get_outputs")), "sway's output")

        bus_config = ["--session"]
        if self.account.uid is not None:
            # The test process, root, looks at the session's bus too, and a session bus admits only its owner.
            config = self.root / "bus.conf"
            config.write_text(BUS_CONFIG.format(user=self.account.name))
            bus_config = [f"--config-file={config}"]
        bus = self._start("dbus", ["dbus-daemon", *bus_config, "--nofork", "--print-address=1"], self.env, stdout=True)
        assert bus.stdout is not None
        self.bus_address = bus.stdout.readline().decode().strip()
        if not self.bus_address:
            raise SessionError(f"dbus-daemon did not start: {self.log('dbus')}")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address

        self._start("pipewire", ["pipewire"], self.env)
        self._until(lambda: (self.runtime / "pipewire-0").exists(), "PipeWire's socket")
        self._start("wireplumber", ["wireplumber"], self.env)
        self._wait_for_portals()
        self._start("keyboard", ["wtype", "-s", "86400000"], self.env)  # a keyboard for as long as we run

    def _wait_for_portals(self) -> None:
        from app.core.capture.portal import SCREENCAST, SCREENSHOT, portal_problem

        self._wake_wlr(self.bus_address)
        problem: str | None = "not asked"
        end = time.monotonic() + 30
        while time.monotonic() < end:
            problem = portal_problem(SCREENSHOT, self.bus_address) or portal_problem(SCREENCAST, self.bus_address)
            if problem is None:
                return
            time.sleep(0.2)
        raise SessionError(f"the portals did not come up ({problem}): {self.log('portal')}")

    @staticmethod
    def _wake_wlr(address: str) -> None:
        """Starts xdg-desktop-portal-wlr and pings it until it answers, before the portal frontend asks it
        anything. Version 0.7.0 (Debian 12) can leave a message that came while it claimed its bus name unread
        until another one arrives (fixed in 0.7.1: "Fix bug in sd-bus polling"); the frontend's first question
        would then wait out D-Bus's 25 s timeout, and the session's Screenshot portal with it."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        wlr = "org.freedesktop.impl.portal.desktop.wlr"
        bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
        peer = DBusAddress("/org/freedesktop/portal/desktop", bus_name=wlr, interface="org.freedesktop.DBus.Peer")
        with open_dbus_connection(bus=address) as conn:
            conn.send_and_get_reply(new_method_call(bus, "StartServiceByName", "su", (wlr, 0)), timeout=20)
            end = time.monotonic() + 20
            while time.monotonic() < end:
                try:
                    conn.send_and_get_reply(new_method_call(peer, "Ping"), timeout=0.5)
                    return
                except TimeoutError:
                    continue

    def stop(self) -> None:
        if self._pointer is not None:
            self._pointer.close()
        for _name, proc in reversed(self._procs):
            _end(proc)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)  # what the bus started for it, in the same process group
        # Services the bus started run in process groups of their own, in its session.
        sessions = {proc.pid for _, proc in self._procs}
        for pid in _pids_in_sessions(sessions):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        time.sleep(0.2)
        for pid in _pids_in_sessions(sessions):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for step in reversed(self._undo):
            step()
        if WLR_SCREENSHOT_FILE.exists() and WLR_SCREENSHOT_FILE.stat().st_uid == (self.account.uid or os.getuid()):
            WLR_SCREENSHOT_FILE.unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _prepare_access(self) -> None:
        """The account must run this Python and read the code; a copy of the code where it cannot."""
        need = [Path(os.path.realpath(sys.executable)), Path(sys.prefix), Path(sys.base_prefix), ROOT]
        self._undo += _grant_search(self.account, need)
        if not self.account.can("-r", ROOT / "app" / "cli.py"):
            self.src = self.folder("src")
            for part in ("app", "glmv_local", "tests", "resources"):
                if (ROOT / part).is_dir():
                    shutil.copytree(ROOT / part, self.src / part, ignore=shutil.ignore_patterns("__pycache__"))
            subprocess.run(["chmod", "-R", "a+rX", str(self.src)], check=True)
        check = self.run([sys.executable, "-c", "import app.cli, PySide6.QtWidgets, jeepney, numpy"], timeout=60)
        if check.returncode != 0:
            raise SessionError(
                f"the account {self.account.name} cannot run this Python with the app "
                f"({sys.executable}): {check.stderr.strip()[-600:]}"
            )

    def _start(self, name: str, argv: list[str], env: dict[str, str], stdout: bool = False) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else log,
            stderr=log,
            start_new_session=True,
            **self.account.popen_args(),
        )
        log.close()
        self._procs.append((name, proc))
        return proc

    def _until(self, what: Callable[[], Any], name: str, timeout: float = 20) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for proc_name, proc in self._procs:
                if proc.poll() is not None:
                    raise SessionError(f"{proc_name} exited ({proc.returncode}): {self.log(proc_name)}")
            value = what()
            if value:
                return value
            time.sleep(0.05)
        raise SessionError(f"timed out waiting for {name}: {self.log('sway')}")

    def _config(self, path: Path, text: str) -> None:
        for folder in reversed(path.parents):
            if (folder == self.home or self.home in folder.parents) and not folder.exists():
                folder.mkdir()
                self.account.own(folder)
        path.write_text(text)
        self.account.own(path)

    # ----- for the tests

    def folder(self, name: str, mode: int = 0o755) -> Path:
        """A new folder of the session's account under the session's own."""
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
        return self.account.own(path)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def popen(self, argv: list[str], env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen:
        """A client of the session, run by its account (``env`` replaces the session's environment)."""
        return subprocess.Popen(
            argv, env=env or self.env, cwd=kwargs.pop("cwd", self.src), **kwargs, **self.account.popen_args()
        )

    def run(
        self, argv: list[str], timeout: float = 30, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            argv, env=env or self.env, cwd=self.src, capture_output=True, text=True, timeout=timeout,
            **self.account.popen_args(),
        )  # fmt: skip

    def swaymsg(self, *args: str) -> Any:
        done = self.run(["swaymsg", "--raw", *args], timeout=10)
        if done.returncode != 0 and not done.stdout:
            raise SessionError(f"swaymsg {' '.join(args)}: {done.stderr.strip()}")
        return json.loads(done.stdout) if done.stdout.strip() else None

    def views(self) -> list[dict[str, Any]]:
        """The windows sway shows (its tree's leaves with a surface): app_id, name, visible, rect, focused."""
        found: list[dict[str, Any]] = []

        def walk(node: dict[str, Any]) -> None:
            if node.get("pid") is not None:
                found.append(node)
            for child in node.get("nodes", []) + node.get("floating_nodes", []):
                walk(child)

        walk(self.swaymsg("-t", "get_tree"))
        return found

    def screen(self, path: Path | None = None) -> np.ndarray:
        """The whole output as RGB pixels, through grim (as a person's screenshot tool sees it)."""
        from PIL import Image

        out = self.folder("shots") / "screen.png"
        done = self.run(["grim", str(out)], timeout=20)
        if done.returncode != 0:
            raise SessionError(f"grim: {done.stderr.strip()}")
        if path is not None:
            shutil.copyfile(out, path)
        with Image.open(out) as image:
            return np.asarray(image.convert("RGB"))

    @property
    def pointer(self) -> VirtualPointer:
        if self._pointer is None:
            self._pointer = VirtualPointer(self.runtime / self.env["WAYLAND_DISPLAY"], (self.width, self.height))
        return self._pointer

    @contextmanager
    def chooser(self) -> Iterator[Callable[[str], None]]:
        """While inside, the screen-cast chooser waits as a person would; the block answers with the output's
        name (or "" to decline) through the function it is given. ``asking()`` says whether it waits now."""
        (self.chooser_folder / "ask").touch()
        try:
            yield self._answer_chooser
        finally:
            (self.chooser_folder / "ask").unlink()
            if self.chooser_asking():
                self._answer_chooser("")

    def chooser_asking(self) -> bool:
        return (self.chooser_folder / "asking").exists()

    def _answer_chooser(self, output: str) -> None:
        answer = self.chooser_folder / "answer"
        part = answer.with_suffix(".part")
        part.write_text(output + "\n" if output else "")
        self.account.own(part)
        part.rename(answer)

    @contextmanager
    def portal_bus(self, portals: dict[str, str], name: str = "bus2") -> Iterator[str]:
        """A second session bus in the session, whose xdg-desktop-portal (started by the bus when first asked)
        knows only the backends ``portals`` describes (file name: the text of its .portal file); yields its
        address. For a backend the tests bring, such as one that asks as GNOME's does."""
        folder = self.folder(f"{name}-portals")
        for file_name, text in portals.items():
            (folder / file_name).write_text(text)
        env = {**self.env, "XDG_DESKTOP_PORTAL_DIR": str(folder)}
        bus_config = ["--session"]
        if self.account.uid is not None:
            config = self.root / f"{name}.conf"
            config.write_text(BUS_CONFIG.format(user=self.account.name))
            bus_config = [f"--config-file={config}"]
        bus = self._start(name, ["dbus-daemon", *bus_config, "--nofork", "--print-address=1"], env, stdout=True)
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        if not address:
            raise SessionError(f"the second dbus-daemon did not start: {self.log(name)}")
        try:
            if any("desktop.wlr" in text for text in portals.values()):
                self._wake_wlr(address)
            yield address
        finally:
            _end(bus)
            for pid in _pids_in_sessions({bus.pid}):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)

    def pipewire_connection(self) -> int:
        """A new connection to the session's PipeWire, as a file descriptor: what the ScreenCast portal's
        OpenPipeWireRemote hands an app."""
        import socket

        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(str(self.runtime / "pipewire-0"))
        return conn.detach()

    @contextmanager
    def screen_stream(
        self, frame: Callable[[int], np.ndarray], fps: int = 10
    ) -> Iterator[tuple[int, Callable[[], None]]]:
        """A PipeWire video source in the session, such as a compositor's screen cast is: GStreamer's
        pipewiresink, fed ``frame(n)`` (RGB, the output's size) ``fps`` times a second. Yields its node id and a
        function that ends the stream (as a desktop's "stop sharing" does)."""
        import threading

        name = f"glmv-test-screen-{len(self._procs)}"
        pipeline = [
            "fdsrc", "fd=0", f"blocksize={self.width * self.height * 4}", "!",
            "rawvideoparse", f"width={self.width}", f"height={self.height}", "format=bgrx", f"framerate={fps}/1", "!",
            "videoconvert", "!",
            "pipewiresink", f"stream-properties=props,media.class=Video/Source,node.name={name}",
        ]  # fmt: skip
        with (self.logs / f"{name}.log").open("wb") as log:
            producer = self.popen(
                ["gst-launch-1.0", "-q", *pipeline], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log
            )
        stopped = threading.Event()

        def feed() -> None:
            n = 0
            bgrx = np.empty((self.height, self.width, 4), np.uint8)
            assert producer.stdin is not None
            while not stopped.is_set():
                bgrx[..., :3] = frame(n)[..., ::-1]
                try:
                    producer.stdin.write(bgrx.tobytes())
                    producer.stdin.flush()
                except (BrokenPipeError, ValueError):
                    return
                n += 1
                stopped.wait(1 / fps)

        def end() -> None:
            stopped.set()
            _end(producer)

        feeder = threading.Thread(target=feed, name="screen-stream", daemon=True)
        feeder.start()
        try:
            node = self._until(lambda: self._node(name), f"the PipeWire node {name}")
            yield node, end
        finally:
            end()
            feeder.join(5)

    def _node(self, name: str) -> int | None:
        dump = self.run(["pw-dump"], timeout=20)
        for item in json.loads(dump.stdout or "[]"):
            if item.get("type") == "PipeWire:Interface:Node" and item["info"]["props"].get("node.name") == name:
                return int(item["id"])
        return None

    def keys(self, *args: str) -> None:
        """``wtype`` arguments: text, ``-k Return``, ``-M ctrl -k comma -m ctrl``."""
        done = self.run(["wtype", *args], timeout=20)
        if done.returncode != 0:
            raise SessionError(f"wtype {' '.join(args)}: {done.stderr.strip()}")


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        xvfb.stop(proc)


def _pids_in_sessions(sessions: set[int]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) in sessions:
                    found.append(int(entry.name))
    return found


@contextmanager
def wayland_session(
    width: int = 1920, height: int = 1080, background: np.ndarray | None = None
) -> Iterator[WaylandSession]:
    """The session of the module's docstring, stopped after the block; SessionError when it cannot start."""
    session = WaylandSession(width, height, background)
    try:
        session.start()
        yield session
    finally:
        session.stop()


# ------------------------------------------------------------------------------------------ the app in it


def launch_app(
    session: WaylandSession,
    server: OpenAIServer,
    name: str,
    *,
    settings: dict | None = None,
    env: dict[str, str] | None = None,
    module: str = "tests.support.app_window",
) -> Running:
    """The app as its account runs it in the session (``QT_QPA_PLATFORM=wayland``), with a profile of its own
    (the folders ``tests.support.profiled_app`` gives every app test) against the loopback server; its window answers
    the probe of ``tests.support.app_window``."""
    from tests.support.app_window import PROBE_ENV

    tmp = session.folder(name)
    home = {part: session.folder(f"{name}/{part}") for part in ("config", "data", "cache", "state")}
    environment = {
        **session.env,
        "QT_QPA_PLATFORM": "wayland",
        "PYTHONPATH": str(session.src),
        "XDG_CONFIG_HOME": str(home["config"]),
        "XDG_DATA_HOME": str(home["data"]),
        "XDG_CACHE_HOME": str(home["cache"]),
        "XDG_STATE_HOME": str(home["state"]),
        "GLMV_INSTANCE": f"wayland-{os.getpid()}-{name}",
        PROBE_ENV: str(tmp / "probe.sock"),
        **(env or {}),
    }
    profile = Profile(
        environment, home["data"] / APP, home["config"] / APP, home["cache"] / APP, home["state"] / APP / "log"
    )
    for folder in (profile.data, profile.config, profile.cache, profile.logs, profile.cache / "captures"):
        folder.mkdir(parents=True, exist_ok=True)
        for part in [folder, *folder.parents]:
            if part == tmp:
                break
            session.account.own(part)
    chosen = {"backend": "api", "preset": "vllm", "base_url": server.url, "model": "glm-4.6v", **(settings or {})}
    (profile.config / "settings.json").write_text(json.dumps(chosen))
    session.account.own(profile.config / "settings.json")
    output = tmp / "app-output.txt"
    with output.open("w") as out:
        proc = session.popen(
            [sys.executable, "-X", "faulthandler", "-m", module], env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    return Running(profile, server, output, proc)


def glmv(session: WaylandSession, app: Running, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`glmv ...` as the desktop's shortcut runs it, in the session, handed to the running app."""
    return session.run([sys.executable, "-m", "app.cli", *args], env=app.env, timeout=timeout)


def glmv_started(session: WaylandSession, app: Running, *args: str) -> subprocess.Popen:
    """`glmv ...` left running (a region capture answers once the person has dragged)."""
    return session.popen(
        [sys.executable, "-m", "app.cli", *args],
        env=app.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
