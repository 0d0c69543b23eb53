"""Soak: the assembled app on Xvfb (xcb, global hotkeys on) used the way people mix things up, for many rounds.

    .venv/bin/python tests/support/soak_window.py --rounds 1000 [--seed 1] [--out /tmp/soak]

Each round is one thing a person does, picked at random (seeded, so a failing run can be replayed): ask a
question while an answer may still stream, attach the corpus PDF (285 pages), deck or chart through the file
dialog, capture the screen or a region by hotkey, stop an answer, start a new chat by key or global hotkey,
switch conversations in the sidebar, open Settings and cancel or save it (saving restarts the hotkeys' X11
thread), show and hide the floating window and ask from it. The loopback server streams Markdown answers with
thinking in small paced pieces, so streams, workers, captures and the hotkey thread overlap.

A crash (the process ends) or a freeze (the command channel does not answer for 20 s) fails the run at once,
with the app's log and crash.log. Actions whose window did not appear in time are counted as stumbles: a few
are the price of driving a real window from outside; many mean the window stopped reacting as it should.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import profiled_app  # noqa: E402
from tests.support.openai_server import OpenAIServer, dialect_stream  # noqa: E402
from tests.support.profiled_app import Running, launch, main_window, screen, started, visible, xvfb_and_server  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
W, H = 1920, 1080
DIALOG_WAIT_S = 20.0
COMPOSER_AT = ("450", "727")  # the question box, in the main window (1280 x 820 at the top-left corner)
ANSWER = (
    "## Findings\n\nThe chart shows **three** series; the *second* peaks in Q3.\n\n"
    "| quarter | value |\n|---|---|\n| Q1 | 12 |\n| Q2 | 18 |\n| Q3 | 31 |\n\n"
    "```python\nprint(sum([12, 18, 31]))\n```\n\nIn short: $x^2 + y^2 = r^2$ holds. "
)
ACTIONS = {
    "ask": 30,
    "attach": 12,
    "capture": 10,
    "stop": 8,
    "new_chat": 8,
    "switch": 10,
    "settings": 6,
    "floating": 6,
    "idle": 10,
}


@dataclass
class Report:
    rounds: int = 0
    seconds: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    done: dict[str, int] = field(default_factory=dict)
    stumbles: dict[str, int] = field(default_factory=dict)
    failure: str | None = None

    def line(self) -> str:
        return (
            f"{self.rounds} rounds in {self.seconds:.0f} s; RSS {self.rss_start_mb:.0f} MB at start, "
            f"{self.rss_end_mb:.0f} MB at end; actions {self.done}; stumbles {self.stumbles or 'none'}"
        )


class Crashed(Exception):
    pass


class Driver:
    def __init__(self, app: Running) -> None:
        self.app = app
        self.env = app.env
        self.log = app.output
        self.crash_log = app.profile.logs / "crash.log"

    # ----- the X server -----

    def xdotool(self, *args: str) -> str:
        return profiled_app.xdotool(self.app, *args).strip()

    def windows(self, title: str) -> list[str]:
        return visible(self.app, title)

    def wait_for(self, title: str, shown: bool, timeout: float = 8.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if bool(self.windows(title)) == shown:
                return True
            time.sleep(0.05)
        return False

    def main_window(self) -> str | None:
        return main_window(self.app)

    def focus_main(self) -> bool:
        """Into the main window's question box as a person gets there: a click. Without a window manager, X
        focus given by xdotool alone left Qt's window inactive now and then, and its shortcuts with it."""
        window = self.main_window()
        if window is None:
            return False
        self.xdotool("windowfocus", "--sync", window)
        self.xdotool("mousemove", "--window", window, *COMPOSER_AT, "click", "1")
        return True

    def opens(self, chord: str, title: str) -> bool:
        """Whether ``chord`` pressed in the main window brings up the window titled ``title`` in time."""
        if not self.focus_main():
            return False
        self.xdotool("key", chord)
        # A dialog the Qt thread opens between other work (an answer rendered, a deck's chip built) on a
        # machine whose other tests share its two cores: slow is not stuck, which the channel check catches.
        return self.wait_for(title, True, DIALOG_WAIT_S)

    def send(self, text: str) -> None:
        """Types ``text`` where the focus is and presses Enter."""
        self.xdotool("type", "--delay", "4", text)
        self.xdotool("key", "Return")

    # ----- the app -----

    def alive(self) -> None:
        if self.app.proc.poll() is not None:
            raise Crashed("the app process ended")

    def answers(self, timeout_ms: int = 20000) -> None:
        code = f"from app.ui.instance import send_command; print(send_command('show', 2000, None, {timeout_ms}))"
        out = subprocess.run(
            [sys.executable, "-c", code], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        if out.stdout.strip() != "ok":
            self.alive()
            raise Crashed(f"the app did not answer on its command channel: {out.stdout.strip()} {out.stderr[-500:]}")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.app.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def screenshot(self, path: Path) -> None:
        from PIL import Image

        Image.fromarray(screen(self.app)).save(path)

    def escape_everything(self) -> None:
        """Back to the plain main window: dialogs, overlays and edits closed."""
        for title in ("^Attach files$", "^Settings$", "^Select a region$"):
            for _ in range(3):
                if not self.windows(title):
                    break
                self.xdotool("key", "Escape")
                time.sleep(0.2)


def act(d: Driver, action: str, rng: random.Random, server: OpenAIServer) -> bool:
    """One action; False when its window did not react in time (a stumble)."""
    if action == "ask":
        server.default = rng.choice(STREAMS)
        if not d.focus_main():
            return False
        d.send(f"Question {rng.randrange(10_000)}: what is shown?")
        time.sleep(rng.uniform(0.05, 0.6))
    elif action == "attach":
        if not d.opens("ctrl+o", "^Attach files$"):
            return False
        path = rng.choice(ATTACHMENTS)
        d.xdotool("type", "--delay", "2", str(path))
        d.xdotool("key", "Return")
        if not d.wait_for("^Attach files$", False, 3):
            d.xdotool("key", "Return")  # the completer's popup took the first one
            if not d.wait_for("^Attach files$", False, DIALOG_WAIT_S):
                return False
    elif action == "capture":
        if rng.random() < 0.5:
            d.xdotool("key", "ctrl+shift+s")
            time.sleep(0.3)
        else:
            d.xdotool("key", "ctrl+shift+x")
            if not d.wait_for("^Select a region$", True):
                return False
            x, y = rng.randrange(50, 1200), rng.randrange(50, 700)
            d.xdotool("mousemove", str(x), str(y), "mousedown", "1", "sleep", "0.05")
            d.xdotool("mousemove", str(x + 150), str(y + 90), "sleep", "0.05", "mousemove", str(x + 300), str(y + 200))
            d.xdotool("sleep", "0.05", "mouseup", "1")
            if not d.wait_for("^Select a region$", False):
                return False
    elif action == "stop":
        server.default = STREAMS[-1]
        if not d.focus_main():
            return False
        d.send("A long one, please")
        time.sleep(rng.uniform(0.1, 0.8))
        d.xdotool("key", "Escape")
    elif action == "new_chat":
        if rng.random() < 0.5 and d.focus_main():
            d.xdotool("key", "ctrl+n")
        else:
            d.xdotool("key", "ctrl+shift+n")
    elif action == "switch":
        window = d.main_window()
        if window is None:
            return False
        row = rng.randrange(0, 6)
        d.xdotool("mousemove", "--window", window, "120", str(100 + 30 * row), "click", "1")
        time.sleep(0.2)
    elif action == "settings":
        if not d.opens("ctrl+comma", "^Settings$"):
            return False
        time.sleep(0.2)
        d.xdotool("key", "Return" if rng.random() < 0.5 else "Escape")
        if not d.wait_for("^Settings$", False, DIALOG_WAIT_S):
            return False
    elif action == "floating":
        d.xdotool("key", "ctrl+shift+c")
        time.sleep(0.3)
        if rng.random() < 0.5:
            server.default = rng.choice(STREAMS)
            d.send("From the small window?")
            time.sleep(0.3)
        d.xdotool("key", "ctrl+shift+c")
    else:
        time.sleep(rng.uniform(0.2, 1.0))
    return True


STREAMS = [
    dialect_stream("vllm", reasoning="Reading the screen. " * 20, answer=ANSWER * k, piece=24, delay=0.002)
    for k in (1, 4, 12)
] + [dialect_stream("vllm", reasoning="Thinking at length. " * 200, answer=ANSWER * 30, piece=12, delay=0.003)]
ATTACHMENTS = [
    CORPUS / "mupdf_explored.pdf",
    CORPUS / "cht-chart-type.pptx",
    CORPUS / "glmv-bench-chart.jpeg",
    CORPUS / "glmv-rl-figure.jpeg",
    CORPUS / "github_sample.pdf",
]


def run(rounds: int, seed: int, out: Path, say=print) -> Report:
    report = Report()
    rng = random.Random(seed)
    names, weights = zip(*ACTIONS.items(), strict=True)
    with xvfb_and_server(W, H, painted=True) as (display, server):
        server.default = STREAMS[0]
        with started(launch(display, server, out / "profile")) as app:
            d = Driver(app)
            time.sleep(1.0)  # the hotkeys' listener starts with the window
            report.rss_start_mb = d.rss_mb()
            began = time.monotonic()
            try:
                for i in range(rounds):
                    action = rng.choices(names, weights)[0]
                    reacted = act(d, action, rng, server)
                    report.done[action] = report.done.get(action, 0) + 1
                    if not reacted:
                        report.stumbles[action] = report.stumbles.get(action, 0) + 1
                        d.escape_everything()
                    d.alive()
                    if i % 10 == 9:
                        d.answers()
                        server.requests.clear()  # the bodies hold every image sent: keep the soak's own memory flat
                        say(f"round {i + 1}: {d.rss_mb():.0f} MB")
                    report.rounds = i + 1
                d.escape_everything()
                d.answers()
                report.rss_end_mb = d.rss_mb()
                d.screenshot(out / "last.png")
            except Crashed as e:
                report.failure = f"round {report.rounds + 1} ({action}): {e}\n" + _tails(d)
            report.seconds = time.monotonic() - began
    return report


def _tails(d: Driver) -> str:
    def tail(path: Path) -> str:
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(none)"

    return f"--- app output ---\n{tail(d.log)}\n--- crash.log ---\n{tail(d.crash_log)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="glmv-soak-"))
    report = run(args.rounds, args.seed, out)
    print(report.line())
    if report.failure:
        print(report.failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
