"""Post-processing and the quality judge: rule filters, then the goal check, then the LLM judge and its prompt (any failure rejects)."""
