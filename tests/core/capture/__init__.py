"""Tests of app.core.capture: geometry, the portal, X11 Damage, the recorder."""
