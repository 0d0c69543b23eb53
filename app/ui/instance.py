"""One running app per user: a second ``glmv`` hands its command to the first over a local socket.

This is how capture works where global hotkeys cannot (Wayland): the desktop's own shortcut runs
``glmv capture --region``, which reaches the running app in a few milliseconds. The protocol is one UTF-8 line
per connection, answered by ``ok`` or ``unknown``, so the sender knows the command was taken.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.core.capture.commands import INSTANCE_COMMANDS

log = logging.getLogger(__name__)

COMMANDS = INSTANCE_COMMANDS
MAX_LINE = 256


def server_name() -> str:
    """Per user, so two people on one machine each get their own app; hashed to stay short and name-safe.
    ``GLMV_INSTANCE`` names a separate instance (a second profile, or a test's own app)."""
    if os.environ.get("GLMV_INSTANCE"):
        return "glmv-desktop-" + hashlib.sha1(os.environ["GLMV_INSTANCE"].encode()).hexdigest()[:12]
    try:
        user = getpass.getuser()
    except Exception:
        user = "user"
    return "glmv-desktop-" + hashlib.sha1(user.encode()).hexdigest()[:12]


def send_command(cmd: str, timeout_ms: int = 1000, name: str | None = None) -> bool:
    """True when a running instance took the command; False when none answers (start the app then).

    Blocking and usable before any QCoreApplication exists, so the CLI can still create the GUI afterwards."""
    if cmd not in COMMANDS:
        raise ValueError(f"unknown command {cmd!r}; known: {', '.join(COMMANDS)}")
    socket = QLocalSocket()
    socket.connectToServer(name or server_name())
    if not socket.waitForConnected(timeout_ms):
        return False
    try:
        socket.write((cmd + "\n").encode())
        if not socket.waitForBytesWritten(timeout_ms):
            return False
        while not socket.canReadLine():
            if not socket.waitForReadyRead(timeout_ms):
                return False
        return bytes(socket.readLine().data()).strip() == b"ok"
    finally:
        socket.disconnectFromServer()


class InstanceServer(QObject):
    """Listens for commands from later instances and emits them on the Qt thread."""

    command_received = Signal(str)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._sockets: set[QLocalSocket] = set()

    def listen(self) -> bool:
        """False when another instance already answers on this name. A name left behind by a crashed instance
        (a socket file nobody listens on) is removed first, or listening would fail with AddressInUse."""
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(200):
            probe.disconnectFromServer()
            return False
        QLocalServer.removeServer(self.name)
        if not self._server.listen(self.name):
            log.warning("cannot listen on %s: %s", self.name, self._server.errorString())
            return False
        return True

    def close(self) -> None:
        self._server.close()

    @property
    def listening(self) -> bool:
        return self._server.isListening()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            self._sockets.add(socket)
            socket.readyRead.connect(self._ready_read)
            if socket.canReadLine():
                self._read(socket)

    @Slot()
    def _ready_read(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket) and socket in self._sockets:
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            if socket.bytesAvailable() > MAX_LINE:
                self._finish(socket)
            return
        command = bytes(socket.readLine(MAX_LINE).data()).decode("utf-8", "replace").strip()
        known = command in COMMANDS
        socket.write(b"ok\n" if known else b"unknown\n")
        socket.flush()
        self._finish(socket)
        if known:
            self.command_received.emit(command)
        else:
            log.info("ignored unknown command %r from another instance", command[:40])

    def _finish(self, socket: QLocalSocket) -> None:
        """Explicit deleteLater once answered: tying it to ``disconnected`` crashes when the server is torn
        down with a socket still open (the socket is then deleted twice)."""
        self._sockets.discard(socket)
        socket.readyRead.disconnect(self._ready_read)
        socket.disconnectFromServer()
        socket.deleteLater()


def route_commands(server: InstanceServer, handlers: dict[str, Callable[[], object]]) -> None:
    """Run ``handlers[command]()`` for each command that arrives; commands without a handler are logged."""

    def run(command: str) -> None:
        handler = handlers.get(command)
        if handler is None:
            log.info("no handler for command %r", command)
        else:
            handler()

    server.command_received.connect(run)
