"""Screenshots and recordings without Qt: screen geometry, capture handlers, the video recorder."""
