"""Global hotkeys behind one protocol: pynput where a process may listen to the whole keyboard (Windows,
macOS, X11), and where it may not (Wayland, or pynput missing) the exact ``glmv capture`` command to bind in
the desktop's own shortcut settings.

Bindings are strings like "Ctrl+Shift+S" ("Cmd" on macOS); an empty string disables an action. A binding
without a modifier would steal a key from every other application, so it is refused, as is one already used
by another action.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal

from app.core.capture.commands import SHORTCUT_COMMANDS
from app.core.errors import AppError

if TYPE_CHECKING:
    from pynput.keyboard import GlobalHotKeys

log = logging.getLogger(__name__)

ACTIONS = ("capture_full", "capture_region", "record", "toggle_floating", "new_chat", "history")
LABELS = {
    "capture_full": "Capture full screen",
    "capture_region": "Capture region",
    "record": "Start/stop recording",
    "toggle_floating": "Show/hide floating window",
    "new_chat": "New chat",
    "history": "History",
}
# action -> the command to bind in the desktop's own shortcut settings where global hotkeys cannot work
COMMANDS = {c.action: c.shell for c in SHORTCUT_COMMANDS}
# A quick action bound to a hotkey is the action "quick:NAME" (app.core.quick_actions).
QUICK_PREFIX = "quick:"


def quick_key(name: str) -> str:
    return QUICK_PREFIX + name


def label_of(action: str) -> str:
    """What the person calls an action, a quick action by its name."""
    if action.startswith(QUICK_PREFIX):
        return f"Quick action “{action.removeprefix(QUICK_PREFIX)}”"
    return LABELS.get(action, action)


MODIFIERS = {"ctrl": "Ctrl", "control": "Ctrl", "shift": "Shift", "alt": "Alt", "option": "Alt", "cmd": "Cmd"}
MODIFIERS |= {"meta": "Cmd", "super": "Cmd", "win": "Cmd", "command": "Cmd"}
MODIFIER_ORDER = ("Ctrl", "Alt", "Shift", "Cmd")
NAMED_KEYS = {f"f{i}": f"F{i}" for i in range(1, 25)} | {
    "space": "Space",
    "tab": "Tab",
    "enter": "Enter",
    "return": "Enter",
    "esc": "Esc",
    "escape": "Esc",
    "home": "Home",
    "end": "End",
    "insert": "Insert",
    "delete": "Delete",
    "print": "Print",
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
}
PYNPUT_KEYS = {"Enter": "enter", "Esc": "esc", "Print": "print_screen", "PageUp": "page_up", "PageDown": "page_down"}


class HotkeyError(AppError, ValueError):
    """A binding that cannot be used; the message says why and is shown next to the field."""


def primary_modifier(platform: str = sys.platform) -> str:
    return "Cmd" if platform == "darwin" else "Ctrl"


def default_bindings(platform: str = sys.platform) -> dict[str, str]:
    mod = primary_modifier(platform)
    keys = dict(zip(ACTIONS, "SXRCNH", strict=True))
    return {action: f"{mod}+Shift+{key}" for action, key in keys.items()}


def normalize(combo: str) -> str:
    """The canonical spelling ("shift+ctrl+s" -> "Ctrl+Shift+S"); "" stays "" (disabled)."""
    parts = [p.strip() for p in combo.replace(" ", "").split("+")]
    if combo.strip() == "":
        return ""
    if any(p == "" for p in parts):
        raise HotkeyError(f"{combo!r} is not a key combination; write it like Ctrl+Shift+S.")
    mods: set[str] = set()
    keys: list[str] = []
    for part in parts:
        low = part.lower()
        if low in MODIFIERS:
            mods.add(MODIFIERS[low])
        elif low in NAMED_KEYS:
            keys.append(NAMED_KEYS[low])
        elif len(part) == 1 and part.isprintable():
            keys.append(part.upper())
        else:
            raise HotkeyError(f"{part!r} in {combo!r} is not a key this app knows.")
    if len(keys) != 1:
        raise HotkeyError(f"{combo!r} must name exactly one key besides the modifiers.")
    if not mods or (mods == {"Shift"} and not keys[0].startswith("F")):
        raise HotkeyError(
            f"{combo!r} has no Ctrl, Alt or Cmd: as a global hotkey it would take that key from every other app."
        )
    return "+".join([m for m in MODIFIER_ORDER if m in mods] + keys)


def conflicts(bindings: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(action, other action, combo) for each pair bound to the same keys (the fixed actions first, then the
    quick actions in their order)."""
    seen: dict[str, str] = {}
    found = []
    for action in [*ACTIONS, *(a for a in bindings if a not in ACTIONS)]:
        combo = bindings.get(action, "")
        if not combo:
            continue
        key = normalize(combo)
        if key in seen:
            found.append((seen[key], action, key))
        else:
            seen[key] = action
    return found


def to_pynput(combo: str) -> str:
    """ "Ctrl+Shift+S" -> "<ctrl>+<shift>+s", pynput's HotKey.parse syntax."""
    out = []
    for part in normalize(combo).split("+"):
        if part in MODIFIER_ORDER:
            out.append(f"<{part.lower()}>")
        elif len(part) == 1:
            out.append(part.lower())
        else:
            out.append(f"<{PYNPUT_KEYS.get(part, part.lower())}>")
    return "+".join(out)


class HotkeyProvider(Protocol):
    name: str

    def problem(self) -> str | None:
        """None when this provider can deliver hotkeys here, else why not."""
        ...

    def start(self, bindings: Mapping[str, str], callback: Callable[[str], None]) -> None:
        """Begin delivering ``callback(action)`` (possibly on another thread) for the enabled bindings."""
        ...

    def stop(self) -> None: ...


class PynputProvider:
    """pynput's GlobalHotKeys. Imported only when used: without an X display pynput raises ImportError at
    import time, and on Wayland it would hear only XWayland windows."""

    name = "pynput"

    def __init__(self) -> None:
        self._listener: GlobalHotKeys | None = None

    def problem(self) -> str | None:
        from app.core.capture.screenshotters import is_wayland

        if is_wayland():
            return "Wayland does not let applications listen to the keyboard globally"
        try:
            import pynput.keyboard  # noqa: F401
        except ImportError as e:
            return f"pynput cannot be used here ({e}); pip install pynput, and on Linux run under X11"
        return None

    def start(self, bindings: Mapping[str, str], callback: Callable[[str], None]) -> None:
        from pynput import keyboard

        self.stop()
        mapping = {}
        for action, combo in bindings.items():
            if combo:
                mapping[to_pynput(combo)] = lambda a=action: callback(a)
        if not mapping:
            return
        listener = keyboard.GlobalHotKeys(mapping)
        listener.daemon = True
        listener.start()
        if hasattr(listener, "wait"):
            listener.wait()
        self._listener = listener

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None


class DesktopShortcutProvider:
    """Delivers nothing itself: it tells the person which command to bind in the desktop's shortcut settings;
    the command reaches the running app through the single-instance socket."""

    name = "desktop shortcut"

    def problem(self) -> str | None:
        return None

    def start(self, bindings: Mapping[str, str], callback: Callable[[str], None]) -> None:
        return None

    def stop(self) -> None:
        return None

    @staticmethod
    def instructions(bindings: Mapping[str, str]) -> list[tuple[str, str, str]]:
        """(label, suggested keys, command) for each action a command can start."""
        return [(LABELS[a], bindings.get(a, ""), cmd) for a, cmd in COMMANDS.items()]


class Hotkeys(QObject):
    """Picks the first provider that works and turns its callbacks (from its own thread) into ``triggered``
    on the Qt thread. ``status`` says which provider runs, or why hotkeys fell back to desktop shortcuts."""

    triggered = Signal(str)

    def __init__(self, providers: list[HotkeyProvider] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.providers: list[HotkeyProvider] = (
            providers if providers is not None else [PynputProvider(), DesktopShortcutProvider()]
        )
        self.provider: HotkeyProvider | None = None
        self.status = ""

    def start(self, bindings: Mapping[str, str]) -> HotkeyProvider:
        """(Re)start with these bindings; a provider that fails to start is skipped with its reason kept."""
        clashes = conflicts(bindings)
        if clashes:
            first, second, combo = clashes[0]
            raise HotkeyError(f"{combo} is bound to both “{label_of(first)}” and “{label_of(second)}”.")
        self.stop()
        reasons: list[str] = []
        for provider in self.providers:
            problem = provider.problem()
            if problem is None:
                try:
                    provider.start(bindings, self.triggered.emit)
                except Exception as e:
                    problem = f"it failed to start ({e})"
                else:
                    self.provider = provider
                    self.status = "; ".join([f"using {provider.name}", *reasons])
                    return provider
            reasons.append(f"{provider.name}: {problem}")
        raise HotkeyError("No hotkey provider works: " + "; ".join(reasons))

    def stop(self) -> None:
        if self.provider is not None:
            self.provider.stop()
            self.provider = None
