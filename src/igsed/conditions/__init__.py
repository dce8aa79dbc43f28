"""Test conditions: the eval pool re-synthesised with overrides, and the comparison across them."""
