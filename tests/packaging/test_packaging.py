"""The installer inputs stay valid: the .desktop entry (desktop-file-validate), its actions against the capture
commands the app documents, the icons, the macOS Info.plist, the PyInstaller spec, and the Linux per-user
installer run for real in a scratch home."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
from configparser import ConfigParser
from pathlib import Path

import pytest
from PIL import Image

from tests.support.paths import ROOT

DESKTOP = ROOT / "resources" / "glmv-desktop.desktop"
PACKAGING = ROOT / "packaging"


def desktop_entry(path: Path = DESKTOP) -> ConfigParser:
    parser = ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="apt install desktop-file-utils")
def test_desktop_file_validates():
    out = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "error" not in out.stdout


def test_desktop_entry_names_the_app_its_icon_and_the_capture_commands():
    entry = desktop_entry()
    main = entry["Desktop Entry"]
    assert main["Exec"] == "glmv" and main["Icon"] == "glmv-desktop" and main["Terminal"] == "false"
    # Qt maps the window to this entry through QGuiApplication.setDesktopFileName (app/ui/main.py).
    assert 'setDesktopFileName("glmv-desktop")' in (ROOT / "app" / "ui" / "main.py").read_text()
    from app.ui.hotkeys import COMMANDS

    actions = {entry[s]["Exec"] for s in entry.sections() if s.startswith("Desktop Action ")}
    assert actions == set(COMMANDS.values())
    from app.core.doctor import WAYLAND_COMMANDS

    assert {command for _, command in WAYLAND_COMMANDS} == set(COMMANDS.values())


def test_icons_are_rendered_at_their_sizes():
    hicolor = ROOT / "resources" / "icons" / "hicolor"
    sizes = sorted(int(p.name.split("x")[0]) for p in hicolor.iterdir())
    assert sizes == [16, 24, 32, 48, 64, 128, 256, 512]
    for size in sizes:
        with Image.open(hicolor / f"{size}x{size}" / "apps" / "glmv-desktop.png") as image:
            assert image.size == (size, size) and image.mode == "RGBA"
            assert image.getpixel((0, 0))[3] == 0, "corners are transparent (rounded icon)"
            assert image.getpixel((size // 2, size // 4))[3] == 255
    with Image.open(ROOT / "resources" / "icons" / "glmv.ico") as ico:
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(ROOT / "resources" / "icons" / "glmv.icns") as icns:
        assert icns.size[0] >= 256


def test_info_plist_has_the_usage_string_and_identity():
    with open(PACKAGING / "macos" / "Info.plist", "rb") as f:
        info = plistlib.load(f)
    assert info["CFBundleIdentifier"] == "io.github.glmv-desktop"
    assert "captures the screen" in info["NSScreenCaptureUsageDescription"]
    assert info["NSHighResolutionCapable"] is True
    assert info["LSMinimumSystemVersion"] >= "11.0"


def test_spec_compiles_and_its_hidden_imports_exist():
    source = (PACKAGING / "glmv.spec").read_text()
    compile(source, "glmv.spec", "exec")
    import importlib.util

    for name in ("app.ui.main", "keyring.backends.SecretService", "keyring.backends.fail", "pynput.keyboard._xorg"):
        assert f'"{name}"' in source
        # Located on disk rather than imported: pynput's package import needs an X display.
        top, *rest = name.split(".")
        package = Path(importlib.util.find_spec(top).origin).parent
        assert package.joinpath(*rest).with_suffix(".py").exists() or package.joinpath(*rest).is_dir(), name
    assert '"torch"' in source and 'ENGINE if VARIANT == "api"' in source
    # Sharing the model in the local bundle: app.serve is imported only when sharing starts.
    assert 'collect_submodules("app.serve")' in source
    # app.core.media imports its handlers by name; the bundle must carry every one of them.
    from app.core.media import HANDLERS

    assert 'collect_submodules("app.core.media")' in source
    media = ROOT / "app" / "core" / "media"
    assert all((media / f"{name}.py").exists() for name in HANDLERS.values())
    assert (PACKAGING / "glmv_entry.py").exists()


@pytest.mark.parametrize(
    "script",
    ["linux/build.sh", "linux/install.sh", "linux/smoke.sh", "macos/build.sh"],
)
def test_shell_scripts_parse(script):
    path = PACKAGING / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    out = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_linux_installer_installs_and_uninstalls_for_the_user(tmp_path):
    stage = tmp_path / "glmv-desktop-0.1.0-linux-x86_64-api"
    (stage / "glmv").mkdir(parents=True)
    exe = stage / "glmv" / "glmv"
    exe.write_text('#!/bin/sh\necho glmv-bundle "$@"\n')
    exe.chmod(0o755)
    shutil.copy(DESKTOP, stage / "glmv-desktop.desktop")
    shutil.copytree(ROOT / "resources" / "icons" / "hicolor", stage / "icons")
    shutil.copy(PACKAGING / "linux" / "install.sh", stage / "install.sh")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    out = subprocess.run([str(stage / "install.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    app = home / ".local" / "share" / "glmv-desktop" / "app" / "glmv"
    link = home / ".local" / "bin" / "glmv"
    assert link.resolve() == app.resolve()
    assert subprocess.run([str(link), "doctor"], capture_output=True, text=True).stdout == "glmv-bundle doctor\n"
    installed = home / ".local" / "share" / "applications" / "glmv-desktop.desktop"
    entry = desktop_entry(installed)
    assert entry["Desktop Entry"]["Exec"] == str(app)
    assert entry["Desktop Action capture-region"]["Exec"] == f"{app} capture --region"
    if shutil.which("desktop-file-validate"):
        assert subprocess.run(["desktop-file-validate", str(installed)]).returncode == 0
    assert (home / ".local/share/icons/hicolor/256x256/apps/glmv-desktop.png").exists()
    assert "not on your PATH" in out.stdout
    out = subprocess.run([str(stage / "install.sh"), "--uninstall"], env=env, capture_output=True, text=True)
    assert out.returncode == 0
    assert not link.exists() and not installed.exists() and not app.exists()
    assert not (home / ".local/share/icons/hicolor/256x256/apps/glmv-desktop.png").exists()
