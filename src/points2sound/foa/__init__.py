"""First-order ambisonics: the ambiX sound field of a scene, its rotation with the listener's head and
its decoding to headphones through an HRIR set (its distances are scoring: evaluate/foa_metrics.py)."""
