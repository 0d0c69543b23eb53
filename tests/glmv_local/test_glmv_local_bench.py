"""The benchmark runs end to end on the CPU with a tiny random model and prints every figure (its GPU figures are
measured with benchmarks/gpu_check.sh)."""

from __future__ import annotations

import re
import resource
import sys
from types import SimpleNamespace

import pytest

from glmv_local.bench import main, peak

pytestmark = pytest.mark.slow


def test_bench_prints_every_figure_on_cpu(capsys, compile_cache_dir):
    argv = ["--shape", "tiny", "--device", "cpu", "--new-tokens", "8", "--prompts", "100,3000"]
    argv += ["--contexts", "2048,4096", "--compile-cache", str(compile_cache_dir)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "decode step compiled (default)" in out
    assert re.search(r"^attention: text glmv_grouped_sdpa \(K/V 2 heads of 4, never expanded\), vision sdpa", out, re.M)
    assert "buckets 2,048, 4,096, 8,192, 16,384, 32,768; compiled 2,048, 4,096" in out
    assert re.search(r"^warm-up .*: \d+\.\d s$", out, re.M)
    rows = re.findall(
        r"^  prompt +([\d,]+) tokens +([\d.]+) tok/s +([\d.]+) tok/s +x([\d.]+) +\(bucket ([\d,]+)\)", out, re.M
    )
    assert [(r[0], r[4]) for r in rows] == [("100", "2,048"), ("3,000", "4,096")]
    assert all(float(r[1]) > 0 and float(r[2]) > 0 for r in rows)
    for label in ("preprocessing", "vision tower", "prefill", "first token"):
        assert re.search(rf"^  {label} +[\d.]+ ms +[\d.]+ ms +x[\d.]+ faster", out, re.M), label
    assert re.search(r"^  peak memory +[\d.]+ GiB", out, re.M)
    assert "during the measured runs: recompiles 0, CUDA graph captures 0" in out
    assert re.search(
        r"^host overhead per token .*: engine [\d.]+ ms/token, bare step [\d.]+ ms: [+-][\d.]+ ms", out, re.M
    )
    steps = re.findall(r"^ +([\d,]+) +([\d,]+) +([\d.]+) ms +([\d.]+) ms$", out, re.M)
    assert [(s[0], s[1]) for s in steps] == [("2,048", "2,048"), ("4,096", "2,048")]


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
