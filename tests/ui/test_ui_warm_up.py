"""Once the window is up, what the first answer needs is imported on a worker: the first code block then imports
nothing on the Qt thread. After PySide6 every import reads the module's source (shiboken's ``__feature__``
check), and Pygments' formatter, style and lexer imports stalled the first answer 50-170 ms (bench_ui.py: 74 ms
on the first 5,000-token answer, 14 ms with the warm-up)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import ROOT

FRESH_WINDOW = """
import sys, tempfile, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.core.secrets import KeyVault
from app.core.settings import Settings
from app.core.store import Store
from app.ui.main import GIL_SWITCH_S, build_main_window
from app.ui.panes import AnswerView
folder = Path(tempfile.mkdtemp())
store = Store(folder / "data")
window = build_main_window(Settings(), None, store=store, vault=KeyVault(folder / "cfg", use_keyring=False))
window.show()
end = time.monotonic() + 1.0
while time.monotonic() < end:
    app.processEvents()
    time.sleep(0.005)
assert window.wait_for_workers(30)
before = set(sys.modules)
view = AnswerView()
view.show_markdown(ANSWER)
view.show()
app.processEvents()
print(sorted(set(sys.modules) - before))
print(sys.getswitchinterval() == GIL_SWITCH_S, "```" in view.toPlainText(), "print" in view.toPlainText())
window.close()
store.close()
"""

ANSWER = (
    "Here is the script:\n\n```python\nprint('hi')\n```\n\nRun it:\n\n```bash\npython hi.py\n```\n\n"
    'And its settings:\n\n```json\n{"name": "hi"}\n```\n'
)


def test_the_first_code_blocks_import_nothing_once_the_window_is_up(tmp_path):
    script = f"ANSWER = {ANSWER!r}\n{FRESH_WINDOW}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    imported, checks = done.stdout.splitlines()[-2:]
    assert imported == "[]", imported
    assert checks == "True False True"  # the Qt thread's GIL wait is short; the code is shown highlighted, fenceless
