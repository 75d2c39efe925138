"""First-order ambisonics: the ambiX sound field of a scene, its rotation with the listener's head, its
decoding to headphones through an HRIR set, and the directional-energy distance of Morgado et al."""
