"""Stage `evaluation` (rules evaluate, figures, report): metrics, tables, figures, summary."""
