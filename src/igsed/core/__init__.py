"""Layer 1: facts and helpers every stage shares (constants, frame grid, audio, files, metrics)."""
