"""Imports point one way: app.ui -> app.core -> glmv_local. The core never imports Qt nor the window's
modules; glmv_local never imports app. Checked twice: statically over every module's import statements, and at
run time by importing the whole core in a fresh interpreter and looking at sys.modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # from app import ui
    return names


def _violations(package: Path, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        for name in _imports(path):
            if name in forbidden or name.split(".")[0] in forbidden or any(name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6")


def test_core_never_imports_qt():
    assert _violations(ROOT / "app" / "core", QT) == []


def test_core_never_imports_the_window():
    assert _violations(ROOT / "app" / "core", ("app.ui",)) == []


def test_the_server_never_imports_qt():
    """`glmv serve` runs on machines without a display; the window's half of sharing is app/ui/sharing.py."""
    assert _violations(ROOT / "app" / "serve", QT) == []


def test_glmv_local_never_imports_qt_or_app():
    assert _violations(ROOT / "glmv_local", (*QT, "app")) == []


def test_importing_the_whole_core_loads_no_qt_nor_the_window():
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for base in ("app/core", "glmv_local")
        for p in sorted((ROOT / base).rglob("*.py"))
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6')\n"
        "             or m == 'app.ui' or m.startswith('app.ui.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
