"""Small file builders shared by test modules."""

from __future__ import annotations

from pathlib import Path

import duckdb


def csv_as_text_parquet(csv_path: Path, target: Path) -> Path:
    """The CSV loaded as it is (every column text) and written as Parquet."""
    connection = duckdb.connect()
    connection.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar = true)) TO '{target}' "
                       "(FORMAT parquet)")
    connection.close()
    return target
