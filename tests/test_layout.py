"""The tests' own layout: test modules sit in folders that mirror the packages they test, every folder is a
package (so two test_x.py in different folders are two modules), and no module imports a test module: what tests
share is a fixture in a conftest.py or a helper in tests/support."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

TESTS = ROOT / "tests"
# Tests of the project as a whole, which belong to no one package.
TOP_LEVEL = {"test_import_boundaries.py", "test_layout.py"}
# Folders that mirror no package folder: what each holds instead.
NOT_A_PACKAGE = {
    "app": "the assembled app on Xvfb",
    "cli": "app/cli.py",
    "packaging": "packaging/ and resources/",
    "support": "shared helpers, no tests",
}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return name.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def imported(source: str, name: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module that module ``name`` (``source``) imports, at any depth of its code, by absolute name, with
    the line; for ``from a import b`` both ``a`` and ``a.b`` (``b`` may be a module)."""
    package = name if is_package else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def python_files() -> list[Path]:
    return sorted(p for folder in (TESTS, ROOT / "benchmarks") for p in folder.rglob("*.py"))


def test_no_module_imports_a_test_module():
    """Tests, conftests, support modules and benchmarks alike: a helper two tests need goes to tests/support, a
    fixture to the conftest.py of the folder above both."""
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in python_files()
        for line, name in imported(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
        if is_test_module(name) and name != module_name(path)
    ]
    assert found == [], "move what is shared to tests/support or a conftest.py:\n" + "\n".join(found)


def test_the_check_sees_every_way_of_importing_a_test_module():
    """``imported`` on a module written for the purpose: absolute, from-package, relative and nested imports."""
    source = (
        "import tests.core.test_store\n"
        "from tests.ui import test_ui_window\n"
        "from .test_ui_shell import shell_of\n"
        "from . import conftest\n"
        "def f():\n"
        "    from tests.core.media.test_media_pdf import CORPUS\n"
        "from tests.support.window import ask\n"
    )
    names = [name for _, name in imported(source, "tests.ui.test_made_up") if is_test_module(name)]
    assert sorted(set(names)) == [
        "tests.core.media.test_media_pdf",
        "tests.core.test_store",
        "tests.ui.conftest",
        "tests.ui.test_ui_shell",
        "tests.ui.test_ui_window",
    ]


def test_test_modules_sit_in_package_folders_that_mirror_the_packages():
    misplaced = [p.name for p in TESTS.glob("test_*.py") if p.name not in TOP_LEVEL]
    assert misplaced == [], (
        f"{misplaced}: a test module goes into the folder of the package it tests (tests/core, tests/core/media, "
        "tests/ui, tests/glmv_local, ...), the assembled app's into tests/app"
    )
    folders = sorted({p.parent for p in TESTS.rglob("*.py")} - {TESTS})
    assert [f for f in folders if not (f / "__init__.py").exists()] == [], "every test folder is a package"
    for folder in folders:
        parts = folder.relative_to(TESTS).parts
        if parts[0] in NOT_A_PACKAGE:
            continue
        package = ROOT.joinpath(*parts) if parts[0] == "glmv_local" else ROOT.joinpath("app", *parts)
        assert (package / "__init__.py").exists(), f"tests/{'/'.join(parts)} mirrors no package"
    assert list((TESTS / "support").glob("test_*.py")) == [], "tests/support holds helpers, not tests"
