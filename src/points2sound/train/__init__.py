"""Training: one loop with exact resume (loop), batch plans (data), checkpoints,
vision pre-training (pretrain), the paper's variants (variant), distributed setup."""
