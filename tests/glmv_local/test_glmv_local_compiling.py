"""The compile watch counts what each thread compiled, whatever thread ran before it: Python hands a finished
thread's ident to the next thread, so counts kept by ident carried one engine's compilations into the next
engine's figure (CI saw three recompiles for two buckets after the benchmark tests' engines had run)."""

from __future__ import annotations

import threading

import pytest

from glmv_local.compiling import Watch

pytestmark = pytest.mark.slow


def step(x):
    return x * 2 + 1


def compile_once(size: int) -> None:
    """A trace of ``step`` for a shape it has not seen (dynamo's reset would also drop the watch's callback)."""
    import torch

    torch.compile(step, backend="eager")(torch.ones(size))


def test_a_new_thread_starts_at_zero_even_with_a_finished_threads_ident():
    Watch.install()
    first = threading.Thread(target=compile_once, args=(3,))
    first.start()
    first.join()
    assert Watch.counts(first) == (1, 0)

    second = threading.Thread(target=lambda: None)
    second.start()
    second.join()
    assert Watch.counts(second) == (0, 0)

    third = threading.Thread(target=compile_once, args=(5,))
    third.start()
    third.join()
    assert Watch.counts(third) == (1, 0)
    assert Watch.counts(first) == (1, 0)  # still readable while the thread object lives
