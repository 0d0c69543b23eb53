"""A mouse for a headless Wayland compositor: a wlroots virtual pointer (zwlr_virtual_pointer_v1) kept for the
session, so the tests can press, drag and release as a person does.

Headless sway has no input devices, so its seat offers clients no pointer at all, and sway's own ``seat - cursor``
commands reach nobody. A virtual pointer is a real device of the seat while it lives. No packaged tool keeps one
alive (wlroots' ``virtual-pointer`` example sends one event and exits, taking the device away, and with it the
client's pointer and any button held), and no Python binding ships the wlroots protocol files, so this speaks the
few Wayland wire messages it needs itself: bind the manager, create the pointer, send absolute motion, buttons and
frames. Keys are typed with ``wtype`` (a virtual keyboard, Debian's package).
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

BTN_LEFT = 0x110
BTN_RIGHT = 0x111
_MANAGER = "zwlr_virtual_pointer_manager_v1"


def _string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return struct.pack("=I", len(data)) + data + b"\0" * (-len(data) % 4)


class VirtualPointer:
    """One pointer device on the compositor at ``socket_path`` that moves in ``extent`` (the whole output
    layout, in its logical pixels) and clicks there."""

    def __init__(self, socket_path: Path, extent: tuple[int, int]) -> None:
        self.extent = extent
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(10)
        self._sock.connect(str(socket_path))
        self._next_id = 2  # 1 is wl_display
        self._buffer = b""
        registry = self._new_id()
        self._send(1, 1, struct.pack("=I", registry))  # wl_display.get_registry
        globals_ = self._roundtrip(registry)
        if _MANAGER not in globals_:
            self.close()
            raise RuntimeError(f"the compositor offers no {_MANAGER} (not wlroots-based?)")
        name, version = globals_[_MANAGER]
        manager = self._new_id()
        bind = struct.pack("=I", name) + _string(_MANAGER) + struct.pack("=II", min(version, 1), manager)
        self._send(registry, 0, bind)  # wl_registry.bind
        self._pointer = self._new_id()
        self._send(manager, 0, struct.pack("=II", 0, self._pointer))  # create_virtual_pointer(seat: null)
        self._roundtrip(registry)
        self._t0 = time.monotonic()
        # The seat gains a pointer with this device; clients bind theirs when told, a moment later.
        time.sleep(0.3)

    def move(self, x: int, y: int) -> None:
        w, h = self.extent
        self._send(self._pointer, 1, struct.pack("=IIIII", self._ms(), x, y, w, h))  # motion_absolute
        self._frame()

    def press(self, button: int = BTN_LEFT) -> None:
        self._button(button, 1)

    def release(self, button: int = BTN_LEFT) -> None:
        self._button(button, 0)

    def click(self, x: int, y: int, button: int = BTN_LEFT) -> None:
        self.move(x, y)
        time.sleep(0.05)
        self.press(button)
        time.sleep(0.05)
        self.release(button)

    def drag(self, x0: int, y0: int, x1: int, y1: int, steps: int = 4) -> None:
        """Press at (x0, y0), move there in ``steps`` (the client must see motion), release at (x1, y1)."""
        self.move(x0, y0)
        time.sleep(0.1)
        self.press()
        time.sleep(0.1)
        for k in range(1, steps + 1):
            self.move(x0 + (x1 - x0) * k // steps, y0 + (y1 - y0) * k // steps)
            time.sleep(0.05)
        time.sleep(0.1)
        self.release()

    def close(self) -> None:
        self._sock.close()

    # ----- the wire

    def _button(self, button: int, state: int) -> None:
        self._send(self._pointer, 2, struct.pack("=III", self._ms(), button, state))
        self._frame()

    def _frame(self) -> None:
        self._send(self._pointer, 4, b"")
        self._roundtrip(None)

    def _ms(self) -> int:
        return int((time.monotonic() - self._t0) * 1000) & 0xFFFFFFFF

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _send(self, obj: int, opcode: int, args: bytes) -> None:
        self._sock.sendall(struct.pack("=II", obj, (8 + len(args)) << 16 | opcode) + args)

    def _roundtrip(self, registry: int | None) -> dict[str, tuple[int, int]]:
        """wl_display.sync and read until its callback is done; the registry's globals seen on the way."""
        callback = self._new_id()
        self._send(1, 0, struct.pack("=I", callback))
        found: dict[str, tuple[int, int]] = {}
        while True:
            while len(self._buffer) < 8 or len(self._buffer) < struct.unpack_from("=I", self._buffer, 4)[0] >> 16:
                piece = self._sock.recv(65536)
                if not piece:
                    raise RuntimeError("the compositor closed the connection")
                self._buffer += piece
            obj, word = struct.unpack_from("=II", self._buffer)
            size, opcode = word >> 16, word & 0xFFFF
            body, self._buffer = self._buffer[8:size], self._buffer[size:]
            if obj == 1 and opcode == 0:  # wl_display.error(object, code, message)
                _, code, length = struct.unpack_from("=III", body)
                raise RuntimeError(f"Wayland error {code}: {body[12 : 12 + length - 1].decode()}")
            if obj == registry and opcode == 0:  # wl_registry.global(name, interface, version)
                name, length = struct.unpack_from("=II", body)
                interface = body[8 : 8 + length - 1].decode()
                (version,) = struct.unpack_from("=I", body, 8 + length + (-length % 4))
                found[interface] = (name, version)
            if obj == callback and opcode == 0:
                return found


def socket_of(env: dict[str, str]) -> Path:
    return Path(env["XDG_RUNTIME_DIR"]) / env.get("WAYLAND_DISPLAY", "wayland-0")


if __name__ == "__main__":  # a quick look by hand: python -m tests.wayland_pointer X Y
    import sys

    p = VirtualPointer(socket_of(dict(os.environ)), (1920, 1080))
    p.click(int(sys.argv[1]), int(sys.argv[2]))
    p.close()
