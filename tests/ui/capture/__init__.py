"""Tests of app.ui.capture: the capture controller on a real X server (Xvfb)."""
