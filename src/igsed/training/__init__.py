"""Stage `training` (rules backbone, cache_features, train_head, classify): models and Table I."""
