"""Report files for other tools: Parquet (pyarrow)."""
