"""The assembled app, driven as a person drives it: the real window in its own process on Xvfb."""
