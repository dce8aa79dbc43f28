"""Stage `attribution` (rule attribute): IG and the comparison methods."""
