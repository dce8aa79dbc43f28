"""Attribution methods beyond IG, one module per family (gradients, layer, perturbation)."""
