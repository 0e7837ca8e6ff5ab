"""Rows of PyPI's BigQuery ``distribution_metadata`` table (one uploaded file each) as JSON lines, CSV or Parquet;
stored in ``releases``, not as downloads."""

from __future__ import annotations

from pathlib import Path

from depgraph.downloads.filenames import canonical_names
from depgraph.downloads.formats.scan import (
    NOT_BLANK,
    BlankLines,
    IngestReport,
    Rows,
    csv_scan,
    drop_tables,
    ident,
    ingest_rows,
    lines_scan,
    numbered_scan,
    sql_string,
    timestamp_sql,
    unique_names,
)
from depgraph.downloads.formats.sniff import RELEASE_REQUIRED, Sniffed, parquet_columns, sniff
from depgraph.downloads.store import Store
from depgraph.errors import BadInput

RELEASE_FIELDS = (*RELEASE_REQUIRED, "requires_dist", "requires_python", "packagetype", "filename")

# ``requires_dist`` arrives as JSON text from every layout (a JSON-lines array, a CSV cell holding a JSON array,
# a Parquet LIST written out with to_json); it is checked here and stored as VARCHAR[].
RELEASES_CHECKED = """(SELECT r.*, names.package,
        CASE WHEN r.malformed IS NOT NULL THEN r.malformed
             WHEN r.name IS NULL THEN 'no name'
             WHEN names.package IS NULL THEN concat('name ''', r.name, ''' is not a valid project name')
             WHEN r.version IS NULL THEN 'no version'
             WHEN r.upload_time IS NULL THEN 'no upload_time'
             WHEN r.at IS NULL THEN concat('upload_time ''', r.upload_time, ''' is not a time')
             WHEN r.requires_dist IS NOT NULL AND coalesce(r.rd_type, '') NOT IN ('ARRAY', 'NULL')
                 THEN concat('requires_dist ''', left(r.requires_dist, 60), ''' is not a JSON array')
             WHEN len(list_filter(r.rd_items, lambda e: json_type(e) <> 'VARCHAR')) > 0
                 THEN 'requires_dist holds something other than strings'
        END AS reason
    FROM (SELECT *, CASE WHEN rd_type = 'ARRAY' THEN json_extract(requires_dist, '$[*]') END AS rd_items
          FROM (SELECT *, {at} AS at, CASE WHEN json_valid(requires_dist) THEN json_type(requires_dist) END AS rd_type
                FROM {scan})) r
    LEFT JOIN names ON names.raw = r.name)"""

RELEASE_KEY = ("c.package", "c.version", "c.at", "c.packagetype", "c.filename")

RELEASES_INSERT = """
    INSERT INTO releases
    SELECT DISTINCT ON ({key}) $source, c.package, c.name, c.version, c.at,
           CASE WHEN c.rd_type = 'ARRAY' THEN json_extract_string(c.requires_dist, '$[*]') END,
           c.requires_python, c.packagetype, c.filename, $digest
    FROM {{checked}} c
    WHERE c.reason IS NULL AND NOT EXISTS (
        SELECT 1 FROM releases s WHERE s.source = $source AND s.name = c.package AND s.version = c.version
          AND s.upload_time = c.at AND s.packagetype IS NOT DISTINCT FROM c.packagetype
          AND s.filename IS NOT DISTINCT FROM c.filename)"""


def ingest_releases(store: Store, path: Path, digest: str, report: IngestReport, source: str) -> None:
    """Rows of PyPI's ``bigquery-public-data.pypi.distribution_metadata``: one uploaded file each, so a wheel and
    an sdist of one version are two rows.

    Kept: ``name`` (stored in its PEP 503 form, and as given in ``display_name``), ``version``, ``upload_time``
    (BigQuery's ``2020-03-04 11:46:08.169385 UTC``, ISO 8601, or a Parquet timestamp; UTC when it has no zone),
    ``requires_dist`` (the PEP 508 strings as given), ``requires_python``, ``packagetype`` and ``filename``; other
    columns (description, classifiers, ...) are ignored. BigQuery cannot export a REPEATED column as CSV, so a CSV
    cell of ``requires_dist`` must hold a JSON array (``TO_JSON_STRING(requires_dist)``); JSON lines hold the array
    itself and Parquet a LIST. A row without a name, version or upload time is rejected. A file already stored
    (same source, name, version, upload time, package type and filename), from another export or twice in this
    one, is counted in ``report.duplicates`` and not stored again.
    """
    rows = _release_rows(path)
    connection = store.connection
    params = {"source": source, "digest": digest}

    def checked(scan: str) -> str:
        return RELEASES_CHECKED.format(at=timestamp_sql("upload_time"), scan=scan)

    ingest_rows(store, report, rows, keys=lambda scan: canonical_names(connection, scan, "name"),
                 checked=checked, insert=RELEASES_INSERT.format(key=", ".join(RELEASE_KEY)), params=params)
    (good,) = connection.execute(f"SELECT count(*) FROM {checked(rows.scan(False, False))} c "
                                 "WHERE c.reason IS NULL").fetchone()
    report.duplicates = int(good) - report.rows
    drop_tables(store, "names")


def _release_rows(path: Path) -> Rows:
    sniffed = sniff(path)
    if sniffed.layout == "jsonl":
        return _release_json_rows(path, sniffed)
    if sniffed.layout == "csv":
        return _release_csv_rows(path, sniffed)
    if sniffed.layout == "parquet":
        return _release_parquet_rows(path)
    raise BadInput(f"{path} is not release metadata as JSON lines, CSV or Parquet", "export distribution_metadata "
                   "again")


def _release_fields(refs: dict[str, str], malformed: str = "NULL", numbered: bool = False) -> str:
    """The select list of a release scan: ``n`` when numbered, ``malformed``, then every field of
    ``RELEASE_FIELDS`` as trimmed text (NULL when absent or blank), from the SQL expressions in ``refs``."""
    fields = [f"nullif(trim({refs[name]}), '') AS {name}" if name in refs else f"NULL::VARCHAR AS {name}"
              for name in RELEASE_FIELDS]
    return ", ".join([*(["n"] if numbered else []), f"{malformed} AS malformed", *fields])


def _release_json_rows(path: Path, sniffed: Sniffed) -> Rows:
    """JSON lines, one row a line, each parsed once; ``n`` is the line number (empty lines are numbered too)."""
    paths = "[" + ", ".join(sql_string(f"$.{name}") for name in RELEASE_FIELDS) + "]"
    refs = {name: f"v[{i}]->>'$'" for i, name in enumerate(RELEASE_FIELDS, 1)}
    refs["requires_dist"] = f"v[{RELEASE_FIELDS.index('requires_dist') + 1}]::VARCHAR"
    malformed = "CASE WHEN v IS NULL THEN 'not valid JSON' WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object' END"

    def scan(numbered: bool, log_rejects: bool) -> str:
        lines = numbered_scan(lines_scan(path, sniffed.compression, log_rejects=log_rejects, numbered=numbered),
                              numbered)
        n = "n, " if numbered else ""
        parsed = (f"(SELECT {n}line AS j, CASE WHEN json_valid(line) THEN json_extract(line, {paths}) END AS v "
                  f"FROM {lines} WHERE {NOT_BLANK})")
        return f"(SELECT {_release_fields(refs, malformed, numbered)} FROM {parsed})"

    return Rows(scan, 0)


def _release_csv_rows(path: Path, sniffed: Sniffed) -> Rows:
    columns = unique_names(sniffed.header)
    missing = [name for name in RELEASE_REQUIRED if name not in columns]
    if missing:
        raise BadInput(f"{path} has no {', '.join(missing)} column", "export distribution_metadata with "
                       f"{', '.join(RELEASE_REQUIRED)} and TO_JSON_STRING(requires_dist) AS requires_dist")
    refs = {name: f"r.{ident(name)}" for name in RELEASE_FIELDS if name in columns}

    def scan(numbered: bool, log_rejects: bool) -> str:
        rows = numbered_scan(csv_scan(path, columns, sniffed.compression, header=True, log_rejects=log_rejects,
                                      numbered=numbered),
                         numbered)
        return f"(SELECT {_release_fields(refs, numbered=numbered)} FROM {rows} r)"

    return Rows(scan, 1, BlankLines(path, sniffed.compression))


def _release_parquet_rows(path: Path) -> Rows:
    """Parquet as BigQuery exports it: ``requires_dist`` a LIST (or a JSON string), ``upload_time`` a timestamp."""
    columns = parquet_columns(path)
    missing = [name for name in RELEASE_REQUIRED if name not in columns]
    if missing:
        raise BadInput(f"{path} is Parquet without release metadata's {', '.join(missing)} column",
                       f"export distribution_metadata with (at least) {', '.join(RELEASE_REQUIRED)}")
    refs = {}
    for name in RELEASE_FIELDS:
        if name in columns:
            original, kind = columns[name]
            as_json = name == "requires_dist" and kind not in ("VARCHAR", "JSON")
            refs[name] = f"to_json(r.{ident(original)})::VARCHAR" if as_json else f"r.{ident(original)}::VARCHAR"
    scan = f"read_parquet({sql_string(str(path))})"
    return Rows(lambda numbered, _log: f"(SELECT {_release_fields(refs, numbered=numbered)} "
                                       f"FROM {numbered_scan(scan, numbered)} r)", None)
