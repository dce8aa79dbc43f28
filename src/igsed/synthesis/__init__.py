"""Stage `synthesis` (rules synthesize, split): Scaper soundscapes, polyphony filter, split."""
