"""Helpers the tests share: the loopback OpenAI server, the tiny model, Xvfb, the app launchers. No tests."""
