"""The window survives the binding's lost references to None (see app.ui.qt_compat)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_many_void_qt_calls_do_not_kill_the_process():
    """More void calls than None had references: without the guard CPython < 3.12 aborts here."""
    code = textwrap.dedent(
        """
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        import app.ui
        from PySide6.QtWidgets import QApplication, QWidget
        app = QApplication([])
        w = QWidget()
        calls = min(sys.getrefcount(None), 10**7) + 50000
        for _ in range(calls):
            w.setVisible(False)
        print("alive", calls)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("alive")
