"""The frozen app's first module: PyInstaller needs a script, the project has a console entry point."""

from __future__ import annotations

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
