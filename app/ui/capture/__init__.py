"""Screen capture on the Qt side: region overlays, recording bar and border, and the controller that runs them."""
