"""Tests of app.core.backends: the API backend against a loopback server, the local backend on a tiny model."""
