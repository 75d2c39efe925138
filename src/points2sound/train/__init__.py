"""Training: one loop with exact resume (loop), batches (data), dvclive metrics (live), distributed setup,
and one module per kind of run: vision pre-training (pretrain, scene_pretext), audio pre-training
(separation) and the paper's variants (variant)."""
