"""Garbage cycles made on worker threads are collected on the Qt thread, not on whichever thread allocates."""

from __future__ import annotations

import gc
import threading
from typing import ClassVar

import pytest

from app.ui.qt_gc import QtThreadCollector

pytestmark = pytest.mark.gui


class Cycle:
    finalized_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.finalized_on.append(threading.current_thread().name)


def test_cycles_from_workers_are_finalized_on_the_qt_thread_and_memory_stays_bounded(qtbot):
    collector = QtThreadCollector(interval_ms=50)
    collector.start()
    try:
        assert not gc.isenabled()
        Cycle.finalized_on.clear()

        def work() -> None:
            for _ in range(20_000):  # far past every threshold: automatic collection would run here, often
                Cycle()

        workers = [threading.Thread(target=work, name=f"worker-{i}") for i in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert Cycle.finalized_on == [], "nothing is collected on the workers"
        qtbot.waitUntil(lambda: len(Cycle.finalized_on) == 40_000, timeout=10_000)
        assert set(Cycle.finalized_on) == {threading.current_thread().name}
        assert collector.collections >= 1
    finally:
        collector.stop()
    assert gc.isenabled()
