"""CNN14 backbone, the trainable heads, and the composed models the later stages use."""
