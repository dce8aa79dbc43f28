"""Layer 3: nn.Modules only: CNN14, the trainable heads and the composed frozen models."""
