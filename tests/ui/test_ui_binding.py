"""The installed Qt binding must not leak references to None.

PySide6 6.12.0 gives back one reference to ``None`` it never took on every call of a void C++ method; on CPython
< 3.12 a streaming session makes enough of those calls to abort the process ("deallocating None"). pyproject.toml
excludes that release; this test fails if a binding with the defect is installed again.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QWidget


def test_void_qt_calls_keep_none_references(qapp):
    widget = QWidget()
    widget.setVisible(False)
    before = sys.getrefcount(None)
    for _ in range(1000):
        widget.setVisible(False)
    lost = before - sys.getrefcount(None)
    assert lost < 50, f"each void Qt call lost a reference to None ({lost} of 1000 calls)"
