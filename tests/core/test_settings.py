"""Settings file and API-key storage against real files."""

from __future__ import annotations

import json
import stat

import pytest

from app.core import settings as settings_module
from app.core.secrets import KeyVault
from app.core.settings import Settings, load, save


def test_defaults_when_there_is_no_file(tmp_path):
    s = load(tmp_path / "settings.json")
    assert s == Settings()
    assert (s.backend, s.history_turns, s.thinking, s.theme) == ("api", 4, True, "system")
    options = s.generation_options()
    assert (options.history_turns, options.thinking, options.max_tokens) == (4, True, 16384)


def test_round_trip_is_versioned_and_holds_no_secret(tmp_path):
    path = tmp_path / "cfg" / "settings.json"
    s = Settings(preset="vllm", base_url="http://gpu:8000/v1", temperature=0.3, thinking_collapsed=True)
    save(s, path)
    data = json.loads(path.read_text())
    assert data["version"] == settings_module.VERSION
    assert not any("key" in k.lower() for k in data)
    assert load(path) == s


def test_bad_values_fall_back_with_a_warning(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps({"temperature": 9, "history_turns": "four", "backend": "cloud", "thinking": 1, "model": "m", "x": 1})
    )
    s = load(path)
    assert (s.temperature, s.history_turns, s.backend, s.thinking, s.model) == (0.8, 4, "api", True, "m")
    assert len(s.warnings) == 4 and any("temperature" in w for w in s.warnings)


def test_a_damaged_file_is_kept_aside_and_defaults_used(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    s = load(path)
    assert s == Settings()
    assert "damaged" in s.warnings[0]
    (kept,) = tmp_path.glob("settings.damaged-*.json")
    assert kept.read_text() == "{not json"
    assert not path.exists()


def test_command_line_overrides_apply_for_one_run(tmp_path):
    s = Settings(backend="local")
    o = s.with_overrides({"preset": "llamacpp", "base_url": "http://127.0.0.1:8080/v1", "model": None})
    assert (o.backend, o.preset, o.base_url, o.model) == ("api", "llamacpp", "http://127.0.0.1:8080/v1", "")
    assert s.backend == "local"


def test_key_file_fallback_is_private_and_announced(tmp_path):
    vault = KeyVault(tmp_path, use_keyring=False)
    assert vault.get("zai") is None
    assert vault.set("zai", "  sk-123  ") == str(tmp_path / "api-keys.json")
    assert vault.get("zai") == "sk-123"
    mode = stat.S_IMODE((tmp_path / "api-keys.json").stat().st_mode)
    assert mode == 0o600
    assert str(tmp_path / "api-keys.json") in vault.where("zai")
    vault.set("zai", "")
    assert vault.get("zai") is None


def test_a_failing_keyring_falls_back_to_the_file(tmp_path, monkeypatch):
    """The real keyring library configured with its always-failing backend, as on a headless machine."""
    pytest.importorskip("keyring")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    monkeypatch.delenv("GLMV_API_KEY", raising=False)
    vault = KeyVault(tmp_path)
    assert "no system keyring works" in vault.where("bigmodel").lower()
    where = vault.set("bigmodel", "secret-key")
    assert where == str(tmp_path / "api-keys.json")
    assert vault.get("bigmodel") == "secret-key"
    assert vault.get("vllm", "http://gpu-box:8000/v1") is None
    assert vault.keyring_problem
    assert str(tmp_path / "api-keys.json") in vault.where("bigmodel")


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("GLMV_API_KEY", "from-env")
    vault = KeyVault(tmp_path)
    assert vault.get("zai") == "from-env"
    assert "GLMV_API_KEY" in vault.where("zai")


def test_shortcuts_and_capture_settings_round_trip_and_reject_bad_values(tmp_path):
    path = tmp_path / "settings.json"
    s = Settings(shortcuts={"capture_region": "Alt+Shift+X", "record": ""}, capture_fps=5, floating_x=-300)
    save(s, path)
    assert load(path) == s
    path.write_text(json.dumps({"shortcuts": {"record": 3}, "capture_fps": 0, "floating_pinned": "yes"}))
    bad = load(path)
    assert (bad.shortcuts, bad.capture_fps, bad.floating_pinned) == ({}, 10, True)
    assert len(bad.warnings) == 3


def test_keys_that_pass_through_the_vault_never_reach_the_log(tmp_path):
    """A key of no recognisable shape is still masked once the vault has saved or loaded it."""
    import logging

    from app.core.logs import REDACTED, setup_logging

    log_file = setup_logging(folder=tmp_path / "log")
    try:
        vault = KeyVault(tmp_path / "cfg", use_keyring=False)
        vault.set("vllm", "plainwordkey42", "http://gpu:8000/v1")
        KeyVault(tmp_path / "cfg", use_keyring=False).get("zai")
        logging.getLogger("app.test").warning("request failed with key plainwordkey42")
        for handler in logging.getLogger().handlers:
            handler.flush()
        text = log_file.read_text()
        assert "plainwordkey42" not in text and REDACTED in text
    finally:
        setup_logging(folder=tmp_path / "log2")
