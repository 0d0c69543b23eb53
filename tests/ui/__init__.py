"""Tests of app.ui: real Qt widgets, offscreen."""
