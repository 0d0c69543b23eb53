"""Work-arounds for defects in the Qt binding that the window would otherwise die of.

PySide6 6.12.0 on CPython 3.11 gives back one reference to ``None`` that it never took on every call of a C++
method returning void (measured: 300 calls of ``QWidget.setVisible`` lower ``sys.getrefcount(None)`` by 300).
A streaming session makes that many calls per second, so after a few minutes the count reaches zero and CPython
aborts with "none_dealloc: deallocating None". From CPython 3.12 on ``None`` is immortal and the defect is
harmless. Until a fixed binding is installed, ``None`` is given a reference count no session can use up.
"""

from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 48  # far above what any session spends; far below the Py_ssize_t limit


def keep_none_alive() -> None:
    if sys.version_info >= (3, 12) or getattr(keep_none_alive, "done", False):
        return
    # ob_refcnt is the first field of every CPython object.
    ctypes.c_ssize_t.from_address(id(None)).value += HEADROOM
    keep_none_alive.done = True  # type: ignore[attr-defined]
