"""Post-processing and the quality judge: rule filters, then the goal check (any failure rejects)."""
