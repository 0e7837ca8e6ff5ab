"""piwheels' ``downloads`` table as CSV (13 columns, or the 10 of March 2020; with its header or without)."""

from __future__ import annotations

import csv
from pathlib import Path

from depgraph.downloads.filenames import register_filenames
from depgraph.downloads.formats.scan import (
    DOWNLOAD_COLUMNS,
    IngestReport,
    Rows,
    csv_scan,
    drop_tables,
    ingest_rows,
    lines_scan,
    major_minor_sql,
    numbered_scan,
    timestamp_sql,
    unique_names,
)
from depgraph.downloads.formats.sniff import PIWHEELS_COLUMNS, PIWHEELS_V015_COLUMNS, read_head, sniff
from depgraph.downloads.store import Store
from depgraph.errors import BadInput

PIWHEELS_CHECKED = """(SELECT r.*, f.package, f.version, f.kind,
        CASE WHEN r.filename IS NULL THEN 'no filename'
             WHEN f.package IS NULL THEN concat('''', r.filename, ''': ', f.reason)
             WHEN r.at IS NULL THEN concat('accessed_at ''', r.accessed_at, ''' is not a time')
        END AS reason
    FROM (SELECT *, {at} AS at FROM {scan}) r LEFT JOIN filenames f USING (filename))"""


def ingest_piwheels(store: Store, path: Path, digest: str, report: IngestReport, source: str) -> None:
    """piwheels' ``downloads`` table as CSV: package and version come from the filename (via ``packaging``).

    ``accessed_by`` (the client's address) is never stored: only a salted hash of it, to tell clients apart.
    """
    sniffed = sniff(path)
    columns = unique_names(sniffed.header) or _headerless_piwheels_columns(path, sniffed.compression)
    if columns[: len(PIWHEELS_V015_COLUMNS)] != PIWHEELS_V015_COLUMNS:
        raise BadInput(f"{path} does not start with piwheels' downloads columns",
                       f"the first ten are {', '.join(PIWHEELS_V015_COLUMNS)}")
    header = bool(sniffed.header)
    rows = Rows(lambda numbered, log: numbered_scan(csv_scan(path, columns, sniffed.compression, header=header,
                                                          log_rejects=log), numbered),
                int(header), lines_scan(path, sniffed.compression, encoding="latin-1"))
    installer = ("nullif(c.installer_name, '')", "nullif(c.installer_version, '')") \
        if "installer_name" in columns else ("NULL", "NULL")
    insert = f"""
        INSERT INTO downloads ({DOWNLOAD_COLUMNS})
        SELECT $source, c.at, c.package, c.version, c.kind, c.filename, {major_minor_sql("c.py_version")},
               nullif(c.py_version, ''), nullif(c.py_name, ''), nullif(c.arch, ''), nullif(c.os_name, ''),
               nullif(c.distro_name, ''), nullif(c.distro_version, ''), {installer[0]}, {installer[1]},
               CASE WHEN coalesce(c.accessed_by, '') = '' THEN NULL
                    ELSE left(sha256($salt || c.accessed_by), 16) END, $digest
        FROM {{checked}} c WHERE c.reason IS NULL"""
    ingest_rows(store, report, rows, keys=lambda scan: register_filenames(store.connection, scan),
                 checked=lambda scan: PIWHEELS_CHECKED.format(at=timestamp_sql("accessed_at"), scan=scan),
                 insert=insert, params={"source": source,
                                        "salt": store.meta("client_salt") or "", "digest": digest})
    drop_tables(store, "filenames")


def _headerless_piwheels_columns(path: Path, compression: str) -> tuple[str, ...]:
    first = read_head(path, compression).decode("utf-8", errors="replace").splitlines()[0]
    count = len(next(csv.reader([first]), []))
    return PIWHEELS_COLUMNS if count == len(PIWHEELS_COLUMNS) else PIWHEELS_V015_COLUMNS
