"""The benchmark runs end to end on the CPU with a tiny random model (its GPU figures are measured elsewhere)."""

from __future__ import annotations

import re
import resource
import sys
from types import SimpleNamespace

import pytest

from glmv_local.bench import Figures, main, peak, show

pytestmark = pytest.mark.slow


def test_bench_runs_on_cpu_with_a_tiny_model(capsys):
    assert main(["--shape", "tiny", "--device", "cpu", "--new-tokens", "8"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^engine .*first token .*decode .*tok/s \(8 tokens\)", out, re.M)
    assert re.search(r"^reference .*\(8 tokens\)", out, re.M)
    assert "ratios" in out


def test_peak_memory_on_the_cpu_is_unknown_on_windows(monkeypatch):
    """Windows has no resource module (no getrusage): the figure is left out instead of the benchmark failing."""
    pytest.importorskip("torch")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "resource", None)  # what importing it does there: ImportError
    assert peak("cpu") is None


def test_peak_memory_on_the_cpu_is_in_bytes_on_macos_and_kilobytes_elsewhere(monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setattr(resource, "getrusage", lambda who: SimpleNamespace(ru_maxrss=3000))
    monkeypatch.setattr(sys, "platform", "darwin")
    assert peak("cpu") == 3000
    monkeypatch.setattr(sys, "platform", "linux")
    assert peak("cpu") == 3000 * 1024


def test_an_unknown_peak_is_shown_as_such(capsys):
    show("engine", Figures(0.01, 0.1, 100.0, 8, None))
    assert capsys.readouterr().out.rstrip().endswith("peak n/a")
