"""The corpus: DuckDB storage, the query endpoint of a running sink, and metrics."""
