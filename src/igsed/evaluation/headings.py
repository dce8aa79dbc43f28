"""The headings the summary and the models table give each metric column: one place for both."""

from __future__ import annotations

# Metric columns of intervals.csv / differences.csv and their headings in the summary.
CI_METRICS: dict[str, str] = {"iou": "Mean IoU", "f1": "F1", "pg": "PG"}
THRESHOLD_FREE_METRICS: dict[str, str] = {
    "auroc": "AUROC",
    "ap": "AP",
    "rma": "Relevance mass",
    "rra": "Relevance rank",
}
COMPLEXITY_METRICS: dict[str, str] = {
    "gini": "Gini sparseness",
    "entropy": "Entropy (normalised) ↓",
}
FAITHFULNESS_METRICS: dict[str, str] = {
    "deletion_morf": "Deletion MoRF ↓",
    "insertion_morf": "Insertion MoRF ↑",
    "deletion_lerf": "Deletion LeRF ↑",
    "insertion_lerf": "Insertion LeRF ↓",
}
ROBUSTNESS_METRICS: dict[str, str] = {
    "random_logit": "Random-logit Spearman ↓",
    "max_sensitivity": "Max-sensitivity ↓",
}
AGREEMENT_METRICS: dict[str, str] = {
    "seed_agreement": "Seed agreement (Spearman) ↑",
    "head_spread": "Heads' probability spread ↓",
}
SED_VIEW_METRICS: dict[str, str] = {
    "psds1": "PSDS1",
    "segment_auroc": "Segment AUROC (1 s)",
    "collar_f1": "Collar F1 (best threshold)",
}
# Every metric above by its column name.
METRIC_HEADINGS: dict[str, str] = (
    CI_METRICS
    | THRESHOLD_FREE_METRICS
    | COMPLEXITY_METRICS
    | FAITHFULNESS_METRICS
    | ROBUSTNESS_METRICS
    | AGREEMENT_METRICS
    | SED_VIEW_METRICS
)
