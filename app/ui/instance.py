"""One running app per user: a second ``glmv`` hands its command to the first over a local socket.

This is how capture works where global hotkeys cannot (Wayland): the desktop's own shortcut runs
``glmv capture --region``, which reaches the running app in a few milliseconds. The protocol is one UTF-8 line
per connection (a command, and for ``quick-action`` its argument after a space), answered by one line once
the command has run: ``unknown`` at once for a command the app does not know, ``ok`` for "show", and for a
capture how it ended (``CaptureOutcome.to_line``: ``captured PATH``, ``failed MESSAGE``, ...), so `glmv capture`
can exit non-zero with the app's message when it could not capture.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import itertools
import logging
import os
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.core.capture.commands import INSTANCE_COMMANDS, QUICK_ACTION_COMMAND, CaptureOutcome
from app.core.errors import AppError

log = logging.getLogger(__name__)

COMMANDS = INSTANCE_COMMANDS
# Commands that take the rest of their line as an argument (a quick action's capture and name).
ARGUMENT_COMMANDS = (QUICK_ACTION_COMMAND,)
MAX_LINE = 256
MAX_REPLY = 64 * 1024
# How long `glmv capture` waits for the running app to say how the capture ended: a region capture waits for the
# person's drag, a recording started by selecting its area too.
REPLY_TIMEOUT_MS = 15 * 60 * 1000


def server_name() -> str:
    """Per user and data folder, so two people on one machine, or one person running the app with another data
    folder (another HOME, XDG_DATA_HOME, a portable copy), each get their own app; hashed to stay short and
    name-safe. ``GLMV_INSTANCE`` names a separate instance (a test's own app)."""
    if os.environ.get("GLMV_INSTANCE"):
        return "glmv-desktop-" + hashlib.sha1(os.environ["GLMV_INSTANCE"].encode()).hexdigest()[:12]
    try:
        user = getpass.getuser()
    except Exception:
        user = "user"
    from app.core.store import default_folder

    key = f"{user}\0{default_folder().expanduser().resolve()}"
    return "glmv-desktop-" + hashlib.sha1(key.encode()).hexdigest()[:12]


class NoAnswer(AppError):
    """The running app took the command but did not say how it ended in time (or closed the connection)."""

    kind = "capture"


def send_command(
    cmd: str, timeout_ms: int = 1000, name: str | None = None, reply_timeout_ms: int | None = None
) -> str | None:
    """The running instance's answer to ``cmd`` (one line, see the module's docstring); None when no instance
    listens (start the app then). Raises NoAnswer when one took the command but did not answer within
    ``reply_timeout_ms`` (``timeout_ms`` when not given): a region capture waits for the person's drag.

    Blocking and usable before any QCoreApplication exists, so the CLI can still create the GUI afterwards."""
    if parse_line(cmd) is None:
        raise ValueError(f"unknown command {cmd!r}; known: {', '.join(COMMANDS + ARGUMENT_COMMANDS)}")
    socket = QLocalSocket()
    socket.connectToServer(name or server_name())
    if not socket.waitForConnected(timeout_ms):
        return None
    try:
        socket.write((cmd + "\n").encode())
        if not socket.waitForBytesWritten(timeout_ms):
            return None
        wait_ms = timeout_ms if reply_timeout_ms is None else reply_timeout_ms
        while not socket.canReadLine():
            if socket.bytesAvailable() > MAX_REPLY or not socket.waitForReadyRead(wait_ms):
                raise NoAnswer(
                    f"the running app took `{cmd}` but did not answer within {wait_ms / 1000:g} s",
                    "look at the app's window for what happened",
                )
        return bytes(socket.readLine(MAX_REPLY).data()).decode("utf-8", "replace").strip()
    finally:
        socket.disconnectFromServer()


def hand_over(cmd: str, timeout_ms: int = 1500, name: str | None = None) -> tuple[int, str] | None:
    """Run ``cmd`` in the running app and wait until it has run: (exit status, what to print: on stdout for
    status 0, as an error otherwise), or None when no app is running."""
    try:
        line = send_command(cmd, timeout_ms, name, reply_timeout_ms=REPLY_TIMEOUT_MS)
    except NoAnswer as e:
        return 1, str(e)
    if line is None:
        return None
    if line == "ok":
        return 0, ""
    if line == "unknown":
        return 1, f"the running app does not know `{cmd}` (an older version?); quit it and start it again"
    try:
        outcome = CaptureOutcome.from_line(line)
    except ValueError:
        return 1, f"the running app answered something unexpected: {line[:200]!r}"
    if outcome.status == "captured":
        return 0, outcome.detail
    if outcome.status == "started":
        return 0, f"recording to {outcome.detail}; run the same command again to stop"
    if outcome.status == "cancelled":
        return 1, outcome.detail or "the capture was cancelled; nothing was captured"
    return 1, outcome.detail


class InstanceServer(QObject):
    """Listens for commands from later instances and emits them on the Qt thread, each with the ticket that
    ``answer`` takes to reply to its sender when the command has run."""

    command_received = Signal(str, int)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._sockets: set[QLocalSocket] = set()
        self._waiting: dict[int, QLocalSocket] = {}
        self._tickets = itertools.count(1)

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
        for ticket in list(self._waiting):
            self.answer(ticket, "failed The app is closing.")
        self._server.close()

    def answer(self, ticket: int, line: str) -> None:
        """Reply to the command ``ticket`` came with, and end that connection; a sender that gave up is ignored."""
        socket = self._waiting.pop(ticket, None)
        if socket is None:
            return
        try:
            if socket.state() == QLocalSocket.LocalSocketState.ConnectedState:
                socket.write((line.replace("\n", " ") + "\n").encode())
                socket.flush()
            self._finish(socket)
        except RuntimeError:  # the socket went with the server (the app is being torn down)
            log.debug("no socket left to answer ticket %d", ticket)

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
        if parse_line(command) is None:
            log.info("ignored unknown command %r from another instance", command[:40])
            socket.write(b"unknown\n")
            socket.flush()
            self._finish(socket)
            return
        # One command per connection: whatever else the sender writes is not read.
        self._sockets.discard(socket)
        socket.readyRead.disconnect(self._ready_read)
        ticket = next(self._tickets)
        self._waiting[ticket] = socket
        self.command_received.emit(command, ticket)

    def _finish(self, socket: QLocalSocket) -> None:
        """Explicit deleteLater once answered: tying it to ``disconnected`` crashes when the server is torn
        down with a socket still open (the socket is then deleted twice)."""
        if socket in self._sockets:
            self._sockets.discard(socket)
            socket.readyRead.disconnect(self._ready_read)
        socket.disconnectFromServer()
        socket.deleteLater()


Reply = Callable[[str], None]
# handler(reply), or for ARGUMENT_COMMANDS handler(reply, argument)
Handler = Callable[..., object]


def parse_line(line: str) -> tuple[str, str] | None:
    """(command, argument) of a channel line; None for a line the channel does not take."""
    command, _, argument = line.partition(" ")
    if command in COMMANDS and not argument:
        return command, ""
    if command in ARGUMENT_COMMANDS and argument.strip():
        return command, argument.strip()
    return None


def dispatch(handlers: Mapping[str, Handler], line: str, reply: Reply) -> None:
    """Run the handler of the command ``line`` holds; it calls ``reply(line)`` once, now or when the command has
    run. A command without a handler, or whose handler raised, is answered for it."""
    parsed = parse_line(line)
    handler = handlers.get(parsed[0]) if parsed is not None else None
    if parsed is None or handler is None:
        log.info("no handler for command %r", line[:40])
        reply("unknown")
        return
    command, argument = parsed
    try:
        if command in ARGUMENT_COMMANDS:
            handler(reply, argument)
        else:
            handler(reply)
    except Exception as e:
        log.exception("command %r failed", command)
        reply(f"failed {type(e).__name__}: {e}")


def route_commands(server: InstanceServer, handlers: Mapping[str, Handler]) -> None:
    """Run the handler of each command that arrives (``dispatch``), answering its sender."""

    def run(command: str, ticket: int) -> None:
        dispatch(handlers, command, functools.partial(server.answer, ticket))

    server.command_received.connect(run)
