"""Tests of app.cli: `glmv` run as a real subprocess."""
