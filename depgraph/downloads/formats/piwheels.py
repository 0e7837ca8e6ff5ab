"""piwheels' ``downloads`` table as CSV (13 columns, or the 10 of March 2020; with its header or without)."""

from __future__ import annotations

import csv
from pathlib import Path

from depgraph.downloads.filenames import register_filenames
from depgraph.downloads.formats.events import NEW_FILES, Events, agent_key, ingest_events
from depgraph.downloads.formats.scan import (
    BlankLines,
    IngestReport,
    Rows,
    csv_scan,
    numbered_scan,
    timestamp_sql,
    unique_names,
)
from depgraph.downloads.formats.sniff import PIWHEELS_COLUMNS, PIWHEELS_V015_COLUMNS, read_head, sniff
from depgraph.downloads.store import Store
from depgraph.errors import BadInput

# why a row is refused (see Events.reason), in the order the checks were always made
PIWHEELS_REASON = """CASE WHEN r.filename IS NULL THEN 'no filename'
         WHEN k.reason IS NOT NULL THEN concat('''', r.filename, ''': ', k.reason)
         WHEN r.at IS NULL THEN concat('accessed_at ''', r.accessed_at, ''' is not a time')
         WHEN a.reason IS NOT NULL THEN a.reason END"""

# the columns an event is made of (the others, os_version and setuptools_version, are not read)
READ = ("filename", "accessed_by", "accessed_at", "arch", "distro_name", "distro_version", "os_name", "py_name",
        "py_version", "installer_name", "installer_version")

# The client: a salted 64-bit hash of the address. Not sha256: hashing 3 M addresses that way costs more than a
# third of an ingest, and buys nothing here, as the salt lives in the store itself: anyone holding the store can
# try every IPv4 address with either hash, and 64 bits cannot single out one of the 2^128 IPv6 addresses.
CLIENT = "CASE WHEN coalesce(r.accessed_by, '') = '' THEN NULL ELSE hash($salt || r.accessed_by) END"


def ingest_piwheels(store: Store, path: Path, digest: str, report: IngestReport, source: str) -> None:
    """piwheels' ``downloads`` table as CSV: package and version come from the filename (via ``packaging``).

    ``accessed_by`` (the client's address) is never stored: only a salted hash of it, to tell clients apart.
    The file is read once (see ``depgraph.downloads.formats.events``); ``source`` is the ingested file's. Only
    the columns kept are read, so a row is refused for bytes that are not UTF-8 in those, not in ``os_version``
    or ``setuptools_version``.
    """
    sniffed = sniff(path)
    columns = unique_names(sniffed.header) or _headerless_piwheels_columns(path, sniffed.compression)
    if columns[: len(PIWHEELS_V015_COLUMNS)] != PIWHEELS_V015_COLUMNS:
        raise BadInput(f"{path} does not start with piwheels' downloads columns",
                       f"the first ten are {', '.join(PIWHEELS_V015_COLUMNS)}")
    header = bool(sniffed.header)
    read = tuple(c for c in columns if c in READ)
    rows = Rows(lambda numbered, log: numbered_scan(csv_scan(path, columns, sniffed.compression, header=header,
                                                             log_rejects=log, read=read, numbered=numbered), numbered),
                int(header), BlankLines(path, sniffed.compression))
    installer = ("r.installer_name", "r.installer_version") if "installer_name" in columns else ("NULL", "NULL")
    agent = agent_key({"python_full": "r.py_version", "implementation": "r.py_name", "arch": "r.arch",
                       "os": "r.os_name", "distro": "r.distro_name", "distro_version": "r.distro_version",
                       "installer": installer[0], "installer_version": installer[1]})
    events = Events(ts=timestamp_sql("r.accessed_at"), file="r.filename", agent=agent, client=CLIENT,
                    new_files=lambda opened, keys: register_filenames(opened.connection, keys, NEW_FILES),
                    reason=PIWHEELS_REASON)
    ingest_events(store, report, rows, events, digest, {"salt": store.meta("client_salt") or ""})


def _headerless_piwheels_columns(path: Path, compression: str) -> tuple[str, ...]:
    first = read_head(path, compression).decode("utf-8", errors="replace").splitlines()[0]
    count = len(next(csv.reader([first]), []))
    return PIWHEELS_COLUMNS if count == len(PIWHEELS_COLUMNS) else PIWHEELS_V015_COLUMNS
