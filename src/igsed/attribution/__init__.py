"""Stage `attribution` (rules figure_clip, attribute): IG and the comparison methods."""
