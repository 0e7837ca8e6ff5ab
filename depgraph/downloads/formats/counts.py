"""Plain daily counts: ``date,package,downloads`` plus optional ``python``, ``platform``, ``version``, ``arch``,
``installer`` (what ``depgraph bigquery fetch`` writes)."""

from __future__ import annotations

from pathlib import Path

from depgraph.downloads.filenames import canonical_names
from depgraph.downloads.formats.scan import (
    BlankLines,
    IngestReport,
    Rows,
    csv_scan,
    drop_tables,
    ident,
    ingest_rows,
    numbered_scan,
    whole_number_sql,
)
from depgraph.downloads.formats.sniff import COUNTS_REQUIRED, sniff
from depgraph.downloads.store import Store
from depgraph.errors import BadInput

COUNTS_OPTIONAL = ("python", "platform", "version", "arch", "installer")

COUNTS_CHECKED = """(SELECT r.*, names.package AS canonical,
        CASE WHEN try_strptime(r.date, '%Y-%m-%d') IS NULL THEN concat('date ''', r.date, ''' is not YYYY-MM-DD')
             WHEN names.package IS NULL THEN concat('package ''', r.package, ''' is not a valid name')
             WHEN {count} IS NULL THEN concat('downloads ''', r.downloads, ''' is not a whole number')
        END AS reason
    FROM {scan} r LEFT JOIN names ON names.raw = r.package)"""


def ingest_counts(store: Store, path: Path, digest: str, report: IngestReport, source: str) -> None:
    """``date,package,downloads`` plus optional ``python``, ``platform`` (stored as ``os``), ``version``, ``arch``
    and ``installer``: daily counts of anything.

    Each row is a disjoint slice of a day's downloads, so the rows of a day add up to its total.
    """
    sniffed = sniff(path)
    columns = sniffed.header
    unknown = [c for c in columns if c not in COUNTS_REQUIRED + COUNTS_OPTIONAL]
    twice = [c for c in columns if columns.count(c) > 1]
    if unknown or twice or not set(COUNTS_REQUIRED) <= set(columns):
        problem = (f"unknown column {unknown[0]!r}" if unknown else f"column {twice[0]!r} twice" if twice
                   else "missing columns")
        raise BadInput(f"{path}: {problem} in a counts file",
                       f"columns are {', '.join(COUNTS_REQUIRED)} and optionally {', '.join(COUNTS_OPTIONAL)}")
    rows = Rows(lambda numbered, log: numbered_scan(csv_scan(path, columns, sniffed.compression, header=True,
                                                             log_rejects=log, numbered=numbered), numbered),
                1, BlankLines(path, sniffed.compression))
    optional = {c: (f"nullif(c.{ident(c)}, '')" if c in columns else "NULL") for c in COUNTS_OPTIONAL}
    insert = f"""
        INSERT INTO download_counts
        SELECT $source, try_cast(c.date AS DATE), c.canonical, 'total', {optional['version']}, {optional['python']},
               {optional['platform']}, {optional['arch']}, {optional['installer']}, {whole_number_sql("c.downloads")},
               $digest
        FROM {{checked}} c WHERE c.reason IS NULL"""
    ingest_rows(store, report, rows, keys=lambda scan: canonical_names(store.connection, scan, "package"),
                 checked=lambda scan: COUNTS_CHECKED.format(count=whole_number_sql("r.downloads"), scan=scan),
                 insert=insert, params={"source": source, "digest": digest})
    drop_tables(store, "names")
