"""Test-wide setup and the fixtures tests in several folders share; helpers that are not fixtures are in
tests/support. Qt must be told it has no screen before PySide6 is imported anywhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tests.support import screen_pattern, tiny_glmv, xvfb
from tests.support.openai_server import OpenAIServer


@pytest.fixture(name="openai_server")
def openai_server_fixture() -> Iterator[OpenAIServer]:
    """The loopback OpenAI-compatible server (tests/support/openai_server.py), started, stopped after the test."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def tiny_glmv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GLM-4.6V-style checkpoint with random weights (tests/support/tiny_glmv.py), built once."""
    return tiny_glmv.build(tmp_path_factory.mktemp("glmv") / "tiny-glm-4.6v")


@pytest.fixture(scope="session")
def scripted_glmv_dir(tiny_glmv_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint with weights that make greedy decoding write ``tiny_glmv.SCRIPT``, built once."""
    return tiny_glmv.script(tiny_glmv_dir, tmp_path_factory.mktemp("glmv") / "scripted-glm-4.6v")


@pytest.fixture(scope="session")
def compile_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for compiled graphs in a test run: inductor's cache folder is process-wide, and a graph already
    built in it (the same bucket shape of the same model) is loaded instead of compiled again."""
    return tmp_path_factory.mktemp("torch-compile")


@dataclass(frozen=True)
class PaintedDisplay:
    env: dict[str, str]  # for subprocesses on the display: DISPLAY, QT_QPA_PLATFORM=xcb, PYTHONPATH
    painter: Popen  # the process that paints screen_pattern.pattern() over the whole screen


@pytest.fixture(scope="module")
def painted_display() -> Iterator[PaintedDisplay]:
    """A private Xvfb of screen_pattern.W x H covered with the pattern whose every pixel says where it is, shared
    by the tests of one module; skips where Xvfb or xdotool is not installed."""
    if (why := xvfb.missing()) is not None:
        pytest.skip(why)
    with xvfb.xvfb(screen_pattern.W, screen_pattern.H) as env:
        painter = screen_pattern.start(env)
        try:
            yield PaintedDisplay(env, painter)
        finally:
            xvfb.stop(painter)
