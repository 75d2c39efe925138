"""2D conditioning ("3D against 2D"): the scene seen as an image from the listener's position."""
