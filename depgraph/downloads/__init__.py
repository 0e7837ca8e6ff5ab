"""Download counts: an embedded DuckDB store, ingest of real log formats, and the reconstructed corpus."""
