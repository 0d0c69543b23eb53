"""The capture commands, defined once: the `glmv capture` flags, what each sends to the running app over its
command channel, the global-hotkey action it stands for, and the words settings and `glmv doctor` show for it.

Where global hotkeys cannot work (Wayland), people bind these shell commands in their desktop's own shortcut
settings, so every place that names them must agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaptureCommand:
    action: str  # the hotkey action (app.ui.hotkeys.ACTIONS) it stands for
    flag: str  # `glmv capture FLAG`
    instance: str  # the command the running app's channel takes
    label: str  # what settings and doctor call it
    help: str  # the CLI's help text

    @property
    def shell(self) -> str:
        """The command line to bind to a desktop shortcut."""
        return f"glmv capture {self.flag}"


CAPTURE_COMMANDS = (
    CaptureCommand("capture_region", "--region", "capture-region", "Capture region", "drag a region of the screen"),
    CaptureCommand("capture_full", "--full", "capture-full", "Capture full screen", "the screen under the cursor"),
    CaptureCommand(
        "capture_window",
        "--window",
        "capture-window",
        "Capture active window",
        "the active window (X11, Windows, macOS)",
    ),
    CaptureCommand("record", "--record", "record", "Start/stop recording", "start or stop recording the screen"),
)
# What the running app's command channel accepts: the captures, and "show" (a second `glmv` brings it forward).
INSTANCE_COMMANDS = (*(c.instance for c in CAPTURE_COMMANDS), "show")
# `glmv capture [--region|--full] --action NAME`: a capture that a quick action asks about at once. Its line
# carries the capture ("region", "full", or "-" for the action's own) and the action's name.
QUICK_ACTION_COMMAND = "quick-action"
QUICK_ACTION_CAPTURES = {"capture-region": "region", "capture-full": "full"}


def quick_action_line(capture: str | None, name: str) -> str:
    """The channel's line for a quick action run on a capture; ``capture`` is a capture command or None."""
    return f"{QUICK_ACTION_COMMAND} {QUICK_ACTION_CAPTURES.get(capture or '', '-')} {name}"


def parse_quick_action(argument: str) -> tuple[str | None, str]:
    """(capture kind or None for the action's own, action name) from a quick-action line's argument."""
    capture, _, name = argument.partition(" ")
    return (capture if capture in QUICK_ACTION_CAPTURES.values() else None), name.strip()


# The ones worth a desktop shortcut of their own (the active-window capture has no default hotkey either).
SHORTCUT_COMMANDS = tuple(c for c in CAPTURE_COMMANDS if c.action != "capture_window")


OUTCOMES = ("captured", "started", "failed", "cancelled", "busy")


@dataclass(frozen=True)
class CaptureOutcome:
    """How one capture request ended, as the window knows it and as the command channel reports it back to
    `glmv capture`: ``captured`` (``detail`` is the file), ``started`` (a recording runs; ``detail`` is the file it
    will be), ``failed``, ``cancelled`` (the person pressed Esc) or ``busy`` (another capture was under way), with
    ``detail`` saying what happened and what to do."""

    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("captured", "started")

    def to_line(self) -> str:
        """One line for the channel; line breaks in a message become spaces."""
        detail = self.detail.replace("\r", " ").replace("\n", " ")
        return f"{self.status} {detail}" if detail else self.status

    @staticmethod
    def from_line(line: str) -> CaptureOutcome:
        status, _, detail = line.strip().partition(" ")
        if status not in OUTCOMES:
            raise ValueError(f"not a capture outcome: {line[:80]!r}")
        return CaptureOutcome(status, detail)
