"""The engine thread knows itself by its thread object: a thread started after it ended may get its ident."""

from __future__ import annotations

import threading

from glmv_local.worker import EngineThread


def test_a_thread_with_an_ended_engine_threads_ident_is_not_the_engine_thread():
    worker = EngineThread(name="glmv-test-engine")
    assert worker.call(worker.is_current)
    worker.stop(timeout=10)
    assert not worker.thread.is_alive()
    seen: list[bool] = []
    for _ in range(20):  # Python usually hands the ended thread's ident to one of these
        t = threading.Thread(target=lambda: seen.append(worker.is_current()))
        t.start()
        t.join()
    assert seen == [False] * 20
    assert not worker.is_current()
