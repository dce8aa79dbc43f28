"""Stage 6: deletion and insertion curves of the attributions, with the clip classifier."""
