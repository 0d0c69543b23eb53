"""Tests of the packaging files: the .desktop file, the PyInstaller spec, the build scripts."""
