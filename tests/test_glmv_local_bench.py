"""The benchmark runs end to end on the CPU with a tiny random model (its GPU figures are measured elsewhere)."""

from __future__ import annotations

import re

import pytest

from glmv_local.bench import main

pytestmark = pytest.mark.slow


def test_bench_runs_on_cpu_with_a_tiny_model(capsys):
    assert main(["--shape", "tiny", "--device", "cpu", "--new-tokens", "8"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^engine .*first token .*decode .*tok/s \(8 tokens\)", out, re.M)
    assert re.search(r"^reference .*\(8 tokens\)", out, re.M)
    assert "ratios" in out
