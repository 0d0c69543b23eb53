"""`glmv doctor` on this machine and in the situations people meet: no display, Wayland, a dead X display, no
keyring, a CPU-only torch beside an NVIDIA driver, a torchvision that does not match torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from app.core import doctor, hardware
from tests.support import xvfb
from tests.support.paths import ROOT


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A person with no settings yet and no keyring (keyring's own "fail" backend, as on a headless box)."""
    for name, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(name, str(tmp_path / sub))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("GLMV_API_KEY", raising=False)
    import keyring.core

    keyring.core._keyring_backend = None
    yield tmp_path
    keyring.core._keyring_backend = None


def by_area(checks):
    return {c.area: c for c in checks}


def no_display(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)


def test_whole_run_without_a_display(home, monkeypatch):
    no_display(monkeypatch)
    checks = by_area(doctor.run_checks())
    assert checks["Display"].status == doctor.PROBLEM
    assert "xvfb-run" in checks["Display"].fix
    assert checks["Hotkeys"].data["method"] == "none"
    assert checks["Keyring"].status == doctor.NOTE
    assert str(home / "config" / "glmv-desktop" / "api-keys.json") in checks["Keyring"].finding
    paths = checks["Folders"].data
    assert paths["settings_exists"] is False
    assert paths["logs"] == str(home / "state" / "glmv-desktop" / "log")
    assert paths["crash_traces"] == str(home / "state" / "glmv-desktop" / "log" / "crash.log")
    assert "crash.log" in checks["Folders"].finding
    assert paths["data"] == str(home / "data" / "glmv-desktop")
    assert all(c.finding for c in checks.values())
    assert all(c.fix for c in checks.values() if c.status == doctor.PROBLEM)


def test_gpu_check_matches_this_machine(home):
    check = doctor.check_gpu()
    gpus = hardware.find_gpus()
    if not hardware.engine_installed():
        assert "API-only" in check.finding
    elif not gpus:
        assert check.status == doctor.NOTE
        assert check.data["device"] == "cpu"
        assert "CPU" in check.finding
    else:
        assert check.data["device"] in ("cuda", "mps")


def test_wayland_gives_the_shortcut_commands(home, monkeypatch):
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    display, hotkeys = doctor.check_display(), doctor.check_hotkeys()
    assert display.status == doctor.NOTE and display.data["server"] == "wayland"
    assert hotkeys.data["method"] == "desktop shortcut"
    assert "glmv capture --region" in hotkeys.fix
    capture = doctor.check_capture()
    assert "mss" in capture.data["handlers"]
    assert "Wayland" in capture.data["handlers"]["mss"]


def test_display_without_a_server(home, monkeypatch):
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    monkeypatch.setenv("DISPLAY", ":987")
    check = doctor.check_display()
    assert check.status == doctor.PROBLEM
    assert "/tmp/.X11-unix/X987" in check.finding


@pytest.mark.skipif(xvfb.missing() is not None, reason=str(xvfb.missing()))
def test_under_x11_capture_and_hotkeys_work(home):
    code = textwrap.dedent(
        """
        import json
        from app.core import doctor
        checks = [doctor.check_display(), doctor.check_capture(), doctor.check_hotkeys()]
        print(json.dumps(doctor.to_json(checks)))
        """
    )
    with xvfb.xvfb(800, 600) as env:
        env = dict(env)
        env.pop("WAYLAND_DISPLAY", None)
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
    assert out.returncode == 0, out.stderr
    checks = {c["area"]: c for c in json.loads(out.stdout)["checks"]}
    assert checks["Display"]["status"] == "ok" and checks["Display"]["data"]["server"] == "x11"
    assert checks["Capture"]["data"]["used"] == "mss"
    assert checks["Hotkeys"]["data"]["method"] == "pynput"


def fake_nvidia_smi(tmp_path, monkeypatch, lines: str) -> None:
    """An nvidia-smi that answers like the driver's for a card this machine does not have."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\nprintf '{lines}'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_nvidia_gpu_found_through_nvidia_smi(tmp_path, monkeypatch):
    fake_nvidia_smi(tmp_path, monkeypatch, "NVIDIA GeForce RTX 4090, 24564\\nNVIDIA RTX A2000, 6138\\n")
    gpus = hardware.find_gpus()
    assert [(g.kind, g.name, g.memory // 1024**2) for g in gpus] == [
        ("nvidia", "NVIDIA GeForce RTX 4090", 24564),
        ("nvidia", "NVIDIA RTX A2000", 6138),
    ]
    assert hardware.local_fit(gpus).mode == "bf16"


def test_cpu_torch_beside_an_nvidia_driver_is_a_problem(home, tmp_path, monkeypatch):
    if not hardware.engine_installed():
        pytest.skip("needs torch")
    import torch

    if torch.version.cuda is not None:
        pytest.skip("this torch is a CUDA build")
    fake_nvidia_smi(tmp_path, monkeypatch, "NVIDIA GeForce RTX 3090, 24576\\n")
    check = doctor.check_gpu()
    assert check.status == doctor.PROBLEM
    assert "CPU-only build" in check.finding
    assert "download.pytorch.org" in check.fix


def test_broken_nvidia_smi_is_no_gpu(tmp_path, monkeypatch):
    fake_nvidia_smi(tmp_path, monkeypatch, "NVIDIA-SMI has failed because it could not communicate\\n")
    assert [g for g in hardware.find_gpus() if g.kind == "nvidia"] == []


@pytest.mark.parametrize(
    ("gpus", "mode"),
    [
        ([hardware.Gpu("nvidia", "RTX 3090", 24 * 1024**3, "x")], "bf16"),
        ([hardware.Gpu("nvidia", "RTX 4070", 12 * 1024**3, "x")], "4bit"),
        ([hardware.Gpu("nvidia", "GTX 1650", 4 * 1024**3, "x")], ""),
        ([hardware.Gpu("apple", "Apple M3 Max", 64 * 1024**3, "x")], "bf16"),
        ([hardware.Gpu("apple", "Apple M2", 16 * 1024**3, "x")], ""),
        ([], ""),
    ],
)
def test_local_fit(gpus, mode):
    fit = hardware.local_fit(gpus)
    assert fit.mode == mode
    assert fit.reason


def test_torchvision_that_does_not_import_is_reported(home, tmp_path, monkeypatch):
    if doctor._dist_version("torch") is None:
        pytest.skip("needs torch")
    broken = tmp_path / "site" / "torchvision"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    check = doctor.check_versions()
    assert check.status == doctor.PROBLEM
    assert "torchvision::nms does not exist" in check.finding
    assert "uninstall torchvision" in check.fix


def test_torchvision_absent_is_a_remark_not_a_problem(home):
    if doctor._dist_version("torch") is None or doctor.importlib.util.find_spec("torchvision") is not None:
        pytest.skip("needs torch without torchvision")
    check = doctor.check_versions()
    assert check.status == doctor.OK
    assert "torchvision not installed" in check.finding


def test_libreoffice_absent_and_present(home, monkeypatch):
    monkeypatch.setenv("GLMV_SOFFICE", "")
    absent = doctor.check_libreoffice()
    assert absent.status == doctor.NOTE and "apt install" in absent.fix
    monkeypatch.delenv("GLMV_SOFFICE")
    present = doctor.check_libreoffice()
    from app.core.media.libreoffice import find_soffice

    assert (present.status == doctor.OK) == (find_soffice() is not None)


def test_pyav_reports_h264(home):
    pytest.importorskip("av")
    check = doctor.check_pyav()
    assert check.data["version"]
    assert check.status == (doctor.OK if check.data["h264"] else doctor.NOTE)


def test_settings_without_key_then_with_env_key(home, monkeypatch):
    from app.core import settings

    settings.save(settings.Settings(backend="api", preset="zai"))
    missing = doctor.check_settings()
    assert missing.status == doctor.PROBLEM and "GLMV_API_KEY" in missing.fix
    monkeypatch.setenv("GLMV_API_KEY", "sk-doctor-test-secret-123456")
    found = doctor.check_settings()
    assert found.status == doctor.OK and "API key present" in found.finding
    text = doctor.format_text([found]) + json.dumps(doctor.to_json([found]))
    assert "sk-doctor-test-secret-123456" not in text


def test_damaged_settings_file(home):
    from app.core import settings

    path = settings.default_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    check = doctor.check_settings()
    assert check.status == doctor.PROBLEM
    assert "damaged" in check.finding


def test_local_backend_in_an_api_only_install_is_a_problem(home, monkeypatch):
    from app.core import settings

    settings.save(settings.Settings(backend="local"))
    monkeypatch.setattr(doctor, "engine_installed", lambda: False)
    check = doctor.check_settings()
    assert check.status == doctor.PROBLEM and "no local engine" in check.fix


def test_a_failing_check_does_not_stop_the_others():
    def check_boom():
        raise OSError("disk on fire")

    checks = doctor.run_checks((check_boom, doctor.check_platform))
    assert checks[0].status == doctor.PROBLEM and "disk on fire" in checks[0].finding
    assert checks[0].area == "Boom"
    assert checks[1].area == "Platform"


def test_text_json_and_exit_code():
    checks = [
        doctor.Check("Display", doctor.OK, "X11 (DISPLAY=:1)"),
        doctor.Check("Keyring", doctor.NOTE, "no keyring", "run a Secret Service"),
        doctor.Check("GPU", doctor.PROBLEM, "CPU torch", "install CUDA torch"),
    ]
    text = doctor.format_text(checks)
    assert "     ok  Display  X11 (DISPLAY=:1)" in text
    assert "-> install CUDA torch" in text and "-> run a Secret Service" in text
    assert text.rstrip().endswith("1 problem found.")
    data = doctor.to_json(checks)
    assert json.loads(json.dumps(data))["problems"] == 1
    assert data["checks"][2] == {
        "area": "GPU",
        "status": "problem",
        "finding": "CPU torch",
        "fix": "install CUDA torch",
        "data": {},
    }
    assert doctor.exit_code(checks) == 1
    assert doctor.exit_code(checks[:2]) == 0
    assert doctor.format_text(checks[:1]).rstrip().endswith("No problems found.")
