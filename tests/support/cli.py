"""`glmv` as a person runs it: ``python -m app.cli`` in a real subprocess from the repository, with no API key
from the test's own environment unless a test passes one."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import ROOT


def glmv(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_env(extra: dict | None = None) -> dict:
    """This process's environment without GLMV_API_KEY, UTF-8 output, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "GLMV_API_KEY"}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env
