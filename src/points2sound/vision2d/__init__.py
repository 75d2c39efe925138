"""2D conditioning (issue 18, "3D against 2D"): the scene seen as an image from the listener's position."""
