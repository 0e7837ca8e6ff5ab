"""Rows of PyPI's BigQuery ``file_downloads`` table as a user exports them: JSON lines (nested), CSV with flattened
column names, or Parquet (nested or flattened)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import duckdb

from depgraph.downloads.filenames import canonical_names
from depgraph.downloads.formats.events import NEW_FILES, SEPARATOR, Events, agent_key, ingest_events, joined_key
from depgraph.downloads.formats.scan import (
    NOT_BLANK,
    BlankLines,
    IngestReport,
    Rows,
    csv_scan,
    drop_tables,
    first_line,
    ident,
    lines_scan,
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

# why a row is refused (see Events.reason), in the order the checks were always made
BIGQUERY_REASON = """CASE WHEN r.malformed IS NOT NULL THEN r.malformed
         WHEN coalesce(trim(r.ts), '') = '' THEN 'no timestamp'
         WHEN r.at IS NULL THEN concat('timestamp ''', r.ts, ''' is not a time')
         WHEN k.reason IS NOT NULL THEN k.reason
         WHEN a.reason IS NOT NULL THEN a.reason END"""
KEY_PARTS = 5  # 'bq', the project as given, then version, file_kind and filename as the store keeps them
FILE_REASON = "a file field holds the control character U+001F"


def ingest_bigquery(store: Store, path: Path, digest: str, report: IngestReport, source: str) -> None:
    """Rows of PyPI's ``bigquery-public-data.pypi.file_downloads``, one download each, as a user exports them.

    JSON lines keep BigQuery's nesting (``file.project``, ``details.installer.name``; a missing key or a null
    ``details`` is NULL). CSV cannot hold nested fields, so its columns are the paths joined with ``_`` (the
    documented naming) or ``.`` (as DuckDB, pandas and the BigQuery console write them). Parquet may be either.
    Each column is computed by the same definition as ``depgraph bigquery`` computes it on BigQuery
    (``depgraph.downloads.definitions.FIELDS``): the package is ``file.project`` in its PEP 503 form (here by
    ``packaging``), ``python`` the major.minor of ``details.python`` (else of the implementation's version), and
    so on. A row without a time or a valid project is rejected. The file is read once (see ``formats.events``).
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
    local = _local_fields()
    events = Events(ts=timestamp_sql("r.ts"),
                    file=joined_key("'bq'", "r.project", local["version"], local["file_kind"], local["filename"]),
                    agent=agent_key(local), client="NULL", new_files=_register_file_keys, reason=BIGQUERY_REASON)
    ingest_events(store, report, rows, events, digest)


@lru_cache(maxsize=1)
def _local_fields() -> dict[str, str]:
    """The definition's fields as DuckDB SQL over the columns of a reader's scan ``r`` (named as BIGQUERY_FIELDS
    names them), transpiled once per process; sqlglot is imported only when a BigQuery export is read."""
    from sqlglot import exp

    from depgraph.downloads.definitions import FIELDS, field_sql

    names = {candidates[0]: name for name, candidates in BIGQUERY_FIELDS.items()}
    return {field: field_sql(field, "duckdb", lambda path: exp.column(names[path], table="r"))
            for field in FIELDS if field not in ("ts", "project", "package", "python")}


def _register_file_keys(store: Store, relation: str) -> None:
    """``event_files`` for new BigQuery file keys: split, the project named in its PEP 503 form by ``packaging``."""
    connection = store.connection
    split = f"(SELECT file, string_split(file, {SEPARATOR}) AS p FROM {relation})"
    canonical_names(connection, f"(SELECT p[2] AS project FROM {split})", "project")
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE {NEW_FILES} AS
        SELECT s.file, n.package, nullif(s.p[3], '') AS version, nullif(s.p[4], '') AS file_kind,
               nullif(s.p[5], '') AS filename,
               CASE WHEN len(s.p) <> {KEY_PARTS} THEN '{FILE_REASON}'
                    WHEN trim(s.p[2]) = '' THEN 'no project (file.project)'
                    WHEN n.package IS NULL THEN concat('project ''', s.p[2], ''' is not a valid name') END AS reason
        FROM {split} s LEFT JOIN names n ON n.raw = s.p[2]""")
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
        lines = numbered_scan(lines_scan(path, sniffed.compression, log_rejects=log_rejects, numbered=numbered),
                              numbered)
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
        csv_scan(path, columns, sniffed.compression, header=True, log_rejects=log, numbered=numbered), numbered)),
        1, BlankLines(path, sniffed.compression))


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
