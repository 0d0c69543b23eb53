"""Running a Qt application's events in a helper process until something holds (the X11 scenarios' wait)."""

from __future__ import annotations

import time
from collections.abc import Callable


def run_until(app, condition: Callable[[], object], timeout: float = 20.0, step: float = 0.01) -> bool:
    """Runs the app's events until ``condition`` holds or ``timeout`` passes, looking every ``step`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(step)
    return False
