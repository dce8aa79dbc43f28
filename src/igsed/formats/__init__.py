"""Layer 2: every file one stage hands to another, each defined once, reader beside writer."""
