"""The corpus: DuckDB storage, the sink consumer, metrics, similarity, export, the query endpoint of a running sink, the dashboard."""
