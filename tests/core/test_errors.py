"""One error root: every failure the app defines derives from ``app.core.errors.AppError``, so the CLI and the
window read its kind, message and what to do the same way whatever raised it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import app
from app.core.errors import KINDS, AppError, as_kind

# Engine errors defined in the app: they travel in the engine's own events (jobs.Failed), so they derive from
# glmv_local's root, and reach people through its kinds (app.core.errors.ENGINE_KINDS).
ENGINE_ERRORS = {"app.serve.queue.NotLoaded"}


def app_modules():
    for info in pkgutil.walk_packages(app.__path__, "app."):
        yield importlib.import_module(info.name)


def test_every_error_the_app_defines_derives_from_the_one_root():
    found, strays = [], []
    for module in app_modules():
        for name, value in vars(module).items():
            if not (inspect.isclass(value) and issubclass(value, BaseException)) or value.__module__ != module.__name__:
                continue
            if name.startswith("_") or f"{module.__name__}.{name}" in ENGINE_ERRORS:
                continue  # private control flow, caught where it is raised
            found.append(name)
            if not issubclass(value, AppError):
                strays.append(f"{module.__name__}.{name}")
            else:
                assert value.kind in KINDS, f"{name}.kind {value.kind!r} is not a FailureKind"
    assert not strays, f"errors outside app.core.errors.AppError: {strays}"
    assert {"MediaError", "GroundingError", "CaptureError", "KeyringUnavailable", "UnknownPreset"} <= set(found)
    assert {"PageSpecError", "SchemaTooNew", "UsageError"} <= set(found)


def test_what_to_do_given_apart_reads_as_one_sentence():
    error = AppError("the OS keyring refused to save the key", "unlock the keyring", kind="auth")
    assert str(error) == "the OS keyring refused to save the key; unlock the keyring"
    failed = error.failed()
    assert (failed.kind, failed.message, failed.retryable) == ("auth", str(error), False)


def test_a_kind_read_back_from_a_history_row():
    assert as_kind("rate_limit") == "rate_limit"
    assert as_kind("a kind an older version wrote") == "model"
    assert as_kind(None, "server") == "server"
