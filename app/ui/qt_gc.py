"""Python's cyclic garbage collector, run on the Qt thread only.

Left automatic, the collector runs in whichever thread happens to allocate past its threshold: a stream, a
document being rendered, the history writer, pynput's X11 thread. A Qt wrapper caught in a reference cycle is
then finalized on that thread, deleting or releasing a Qt object where Qt forbids it; the window soak
(tests/support/soak_window.py) met segmentation faults with the Qt thread inside the collector. pyqtgraph, Camelot and
Spyder do the same as here: switch automatic collection off and collect on a timer of the Qt thread, by the
same generation thresholds the automatic collector would use, so memory stays bounded as before.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject, QTimer, Slot

log = logging.getLogger(__name__)

INTERVAL_MS = 500


class QtThreadCollector(QObject):
    """While it lives and runs, garbage cycles are collected only on this object's (the Qt) thread."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self.collections = 0

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()

    @Slot()
    def collect_due(self) -> None:
        """The generations the automatic collector would have collected by now (the oldest one due)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [g for g in range(3) if thresholds[g] and counts[g] > thresholds[g]]
        if due:
            gc.collect(max(due))
            self.collections += 1
