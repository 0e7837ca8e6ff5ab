"""Rows of PyPI's BigQuery ``file_downloads`` table as a user exports them: JSON lines (nested), CSV with flattened
column names, or Parquet (nested or flattened)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from depgraph.downloads.filenames import canonical_names
from depgraph.downloads.formats.scan import (
    DOWNLOAD_COLUMNS,
    NOT_BLANK,
    IngestReport,
    Rows,
    csv_scan,
    drop_tables,
    first_line,
    ident,
    ingest_rows,
    lines_scan,
    major_minor_sql,
    numbered_scan,
    sql_string,
    timestamp_sql,
    unique_names,
)
from depgraph.downloads.formats.sniff import Sniffed, bigquery_keys, sniff
from depgraph.downloads.store import Store
from depgraph.errors import BadInput

# BigQuery's file_downloads columns depgraph keeps, as paths in the nested row; the first path present wins.
BIGQUERY_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "ts": (("timestamp",),),
    "project": (("file", "project"), ("project",)),
    "version": (("file", "version"),),
    "file_type": (("file", "type"),),
    "filename": (("file", "filename"),),
    "python": (("details", "python"),),
    "implementation": (("details", "implementation", "name"),),
    "implementation_version": (("details", "implementation", "version"),),
    "installer": (("details", "installer", "name"),),
    "installer_version": (("details", "installer", "version"),),
    "os": (("details", "system", "name"),),
    "arch": (("details", "cpu"),),
    "distro": (("details", "distro", "name"),),
    "distro_version": (("details", "distro", "version"),),
}

BIGQUERY_CHECKED = """(SELECT r.*, names.package,
        CASE WHEN r.malformed IS NOT NULL THEN r.malformed
             WHEN coalesce(trim(r.ts), '') = '' THEN 'no timestamp'
             WHEN r.at IS NULL THEN concat('timestamp ''', r.ts, ''' is not a time')
             WHEN coalesce(trim(r.project), '') = '' THEN 'no project (file.project)'
             WHEN names.package IS NULL THEN concat('project ''', r.project, ''' is not a valid name')
        END AS reason
    FROM (SELECT *, {at} AS at FROM {scan}) r LEFT JOIN names ON names.raw = r.project)"""


def ingest_bigquery(store: Store, path: Path, digest: str, report: IngestReport, source: str) -> None:
    """Rows of PyPI's ``bigquery-public-data.pypi.file_downloads``, one download each, as a user exports them.

    JSON lines keep BigQuery's nesting (``file.project``, ``details.installer.name``; a missing key or a null
    ``details`` is NULL). CSV cannot hold nested fields, so its columns are the paths joined with ``_`` (the
    documented naming) or ``.`` (as DuckDB, pandas and the BigQuery console write them). Parquet may be either.
    The package is ``file.project`` in its PEP 503 form; ``python`` is the major.minor of ``details.python``
    (else of the implementation's version). A row without a time or a valid project is rejected.
    """
    sniffed = sniff(path)
    if sniffed.layout == "jsonl":
        rows = _bigquery_json_rows(path, sniffed)
    elif sniffed.layout == "csv":
        rows = _bigquery_csv_rows(path, sniffed)
    elif sniffed.layout == "parquet":
        rows = _bigquery_parquet_rows(store, path)
    else:
        raise BadInput(f"{path} is not BigQuery rows as JSON lines, CSV or Parquet", "export file_downloads again")
    kind = ("CASE WHEN coalesce(c.file_type, '') = '' THEN NULL WHEN c.file_type = 'bdist_wheel' THEN 'wheel' "
            "WHEN c.file_type = 'sdist' THEN 'sdist' ELSE 'other' END")
    python_full = "coalesce(nullif(c.python, ''), nullif(c.implementation_version, ''))"
    insert = f"""
        INSERT INTO downloads ({DOWNLOAD_COLUMNS})
        SELECT $source, c.at, c.package, nullif(c.version, ''), {kind}, nullif(c.filename, ''),
               {major_minor_sql(python_full)}, {python_full}, nullif(c.implementation, ''), nullif(c.arch, ''),
               nullif(c.os, ''), nullif(c.distro, ''), nullif(c.distro_version, ''), nullif(c.installer, ''),
               nullif(c.installer_version, ''), NULL, $digest
        FROM {{checked}} c WHERE c.reason IS NULL"""
    ingest_rows(store, report, rows, keys=lambda scan: canonical_names(store.connection, scan, "project"),
                 checked=lambda scan: BIGQUERY_CHECKED.format(at=timestamp_sql("ts"), scan=scan),
                 insert=insert, params={"source": source, "digest": digest})
    drop_tables(store, "names")


def _json_path(path: tuple[str, ...], keys: str) -> str:
    if keys == "nested":
        return "$." + ".".join(path)
    return '$."' + keys.join(path) + '"'


def _bigquery_from_json(relation: str, keys: str, numbered: bool, malformed: str = "NULL",
                        parse: str = "json_extract_string(j, {paths})") -> str:
    """Standard BigQuery fields from a relation of ``j`` (a row as JSON text, and ``n`` when numbered); each row
    is parsed once for all paths."""
    paths: list[str] = []
    fields = []
    for name, candidates in BIGQUERY_FIELDS.items():
        first = len(paths) + 1
        paths.extend(_json_path(candidate, keys) for candidate in candidates)
        fields.append(f"coalesce({', '.join(f'v[{i}]' for i in range(first, len(paths) + 1))}) AS {name}")
    path_list = "[" + ", ".join(sql_string(p) for p in paths) + "]"
    n = "n, " if numbered else ""
    return (f"(SELECT {n}{malformed} AS malformed, {', '.join(fields)} FROM "
            f"(SELECT {n}j, {parse.format(paths=path_list)} AS v FROM {relation}))")


def _bigquery_json_rows(path: Path, sniffed: Sniffed) -> Rows:
    """JSON lines, one row a line; ``n`` is the line number itself, as empty lines are numbered, then skipped."""
    def scan(numbered: bool, log_rejects: bool) -> str:
        lines = numbered_scan(lines_scan(path, sniffed.compression, log_rejects=log_rejects), numbered)
        relation = f"(SELECT {'n, ' if numbered else ''}line AS j FROM {lines} WHERE {NOT_BLANK})"
        malformed = ("CASE WHEN v IS NULL THEN 'not valid JSON' "
                     "WHEN v[1] IS NULL AND json_type(j) <> 'OBJECT' THEN 'not a JSON object' END")
        return _bigquery_from_json(relation, sniffed.keys, numbered, malformed,
                                   "CASE WHEN json_valid(j) THEN json_extract_string(j, {paths}) END")

    return Rows(scan, 0)


def _bigquery_csv_rows(path: Path, sniffed: Sniffed) -> Rows:
    columns = unique_names(tuple(name.replace(".", "_") for name in sniffed.header))
    if "timestamp" not in columns or not {"file_project", "project"} & set(columns):
        raise BadInput(f"{path} has no timestamp and file_project columns",
                       "export BigQuery rows with flattened names: timestamp, file_project, ...")
    return Rows(_bigquery_from_columns(columns, lambda numbered, log: numbered_scan(
        csv_scan(path, columns, sniffed.compression, header=True, log_rejects=log), numbered)),
        1, lines_scan(path, sniffed.compression, encoding="latin-1"))


def _bigquery_parquet_rows(store: Store, path: Path) -> Rows:
    scan = f"read_parquet({sql_string(str(path))})"
    try:
        described = store.query(f"DESCRIBE SELECT * FROM {scan}")
    except duckdb.Error as exc:
        raise BadInput(f"{path} is not a readable Parquet file: {first_line(exc)}", "export it again") from exc
    names = {row[0].lower(): row[0] for row in described}
    keys = bigquery_keys(names)
    if keys is None:
        raise BadInput(f"{path} is Parquet without BigQuery's timestamp and file.project columns",
                       "export file_downloads with (at least) timestamp and file")
    if keys == "nested":  # to_json keeps whatever struct fields this export has; paths it lacks give NULL
        return Rows(lambda numbered, _log: _bigquery_from_json(
            numbered_scan(f"(SELECT to_json(t) AS j FROM {scan} t)", numbered), "nested", numbered), None)
    renamed = {name.replace(".", "_"): original for name, original in names.items()}
    selected = ", ".join(f"{ident(original)}::VARCHAR AS {ident(name)}" for name, original in renamed.items())
    return Rows(_bigquery_from_columns(tuple(renamed), lambda numbered, _log: numbered_scan(
        f"(SELECT {selected} FROM {scan})", numbered)), None)


def _bigquery_from_columns(columns: tuple[str, ...],
                           scan: Callable[[bool, bool], str]) -> Callable[[bool, bool], str]:
    """Standard BigQuery fields from a scan with flattened ``_`` column names."""
    present = set(columns)
    fields = []
    for name, candidates in BIGQUERY_FIELDS.items():
        refs = [f"r.{ident('_'.join(c))}" for c in candidates if "_".join(c) in present]
        fields.append(f"{'coalesce(' + ', '.join(refs) + ')' if refs else 'NULL'} AS {name}")
    return lambda numbered, log: (f"(SELECT {'r.n, ' if numbered else ''}NULL AS malformed, {', '.join(fields)} "
                                  f"FROM {scan(numbered, log)} r)")
