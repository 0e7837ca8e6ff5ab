"""One pypistats.org API response (``overall``, ``python_major``, ``python_minor`` or ``system``), stored as daily
counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from depgraph.downloads.filenames import canonical_name
from depgraph.downloads.formats.scan import (
    IngestReport,
    Rejected,
    add_examples,
    first_bad_rows,
    sql_string,
    whole_number_sql,
)
from depgraph.downloads.formats.sniff import sniff
from depgraph.downloads.store import Store
from depgraph.errors import BadInput

# pypistats endpoint (response "type") -> the breakdown its rows are stored under
PYPISTATS_TYPES = {"overall_downloads": "total", "python_major_downloads": "python",
                   "python_minor_downloads": "python", "system_downloads": "os"}

PYPISTATS_CHECKED = """(SELECT *, try_cast(date AS DATE) AS day, {count} AS count,
        CASE WHEN shape <> 'OBJECT' THEN 'data[' || (n - 1) || '] is not an object'
             WHEN try_strptime(date, '%Y-%m-%d') IS NULL
                 THEN 'data[' || (n - 1) || ']: date ''' || coalesce(date, '') || ''' is not YYYY-MM-DD'
             WHEN {count} IS NULL
                 THEN 'data[' || (n - 1) || ']: downloads ''' || coalesce(downloads, '') || ''' is not a whole number'
             WHEN category IS NULL THEN 'data[' || (n - 1) || ']: no category'
             WHEN {overall} AND category NOT IN ('with_mirrors', 'without_mirrors')
                 THEN 'data[' || (n - 1) || ']: category ''' || category || ''' is not with_mirrors or without_mirrors'
        END AS reason
    FROM (SELECT row_number() OVER () AS n, e->>'category' AS category, e->>'date' AS date,
                 e->>'downloads' AS downloads, json_type(e) AS shape
          FROM (SELECT unnest(json_extract(json, '$.data[*]')) AS e FROM {scan})))"""


def ingest_pypistats(store: Store, path: Path, digest: str, report: IngestReport, source: str) -> None:
    """One pypistats.org API response (``overall``, ``python_major``, ``python_minor`` or ``system``) as daily
    counts.

    ``overall`` keeps only the ``without_mirrors`` series as the day's total. ``with_mirrors`` is not a separate
    slice but the same downloads plus those of mirroring tools (bandersnatch, devpi, Artifactory, ...): storing
    both series would count every download twice, and the mirrors' own fetches are not users' installs.
    ``without_mirrors`` is also the population the python and system series are counted over, so a
    ``--split`` adds up to the total.

    pypistats answers with the last 180 days, so two responses fetched on different days overlap: the newer
    response replaces the stored counts of an earlier pypistats response for the same package, breakdown and
    day (``report.replaced``) instead of adding to them. python_major and python_minor share the ``python``
    breakdown, so the last one ingested wins for the days it covers.
    """
    sniffed = sniff(path)
    scan = (f"read_json_objects({sql_string(str(path))}, format = 'unstructured', "
            f"compression = '{sniffed.compression}')")
    document = _pypistats_document(path, store.query(f"SELECT json FROM {scan} LIMIT 2"))
    package = canonical_name(document["package"]) if isinstance(document["package"], str) else None
    if package is None:
        raise BadInput(f"{path}: package {document['package']!r} is not a valid project name",
                       "give a response for one package (not __all__)")
    breakdown = PYPISTATS_TYPES[document["type"]]
    connection = store.connection
    checked = PYPISTATS_CHECKED.format(count=whole_number_sql("downloads"), overall=breakdown == "total", scan=scan)
    (count,) = connection.execute(f"SELECT count(*) FROM {checked} WHERE reason IS NOT NULL").fetchone()
    report.rejected += int(count)
    add_examples(report, [Rejected(None, reason) for _n, reason in first_bad_rows(store, checked)])
    value = "CASE WHEN c.category = 'null' THEN NULL ELSE c.category END"
    python = value if breakdown == "python" else "NULL"
    os_name = value if breakdown == "os" else "NULL"
    wanted = f"{checked} c WHERE c.reason IS NULL" + (" AND c.category = 'without_mirrors'"
                                                      if breakdown == "total" else "")
    params = {"source": source, "package": package, "breakdown": breakdown}
    (report.replaced,) = connection.execute(f"""
        DELETE FROM download_counts WHERE source = $source AND package = $package AND breakdown = $breakdown
          AND day IN (SELECT c.day FROM {wanted})
          AND file_sha256 IN (SELECT sha256 FROM ingested_files WHERE format = 'pypistats')
    """, params).fetchone()
    (report.rows,) = connection.execute(f"""
        INSERT INTO download_counts
        SELECT $source, c.day, $package, $breakdown, NULL, {python}, {os_name}, NULL, NULL, c.count, $digest
        FROM {wanted}
    """, {**params, "digest": digest}).fetchone()


def _pypistats_document(path: Path, documents: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The one response in a pypistats file, checked for shape; BadInput says what is wrong."""
    if len(documents) != 1:
        raise BadInput(f"{path} holds {len(documents) or 'no'} JSON documents, not one pypistats response",
                       "save each API response in its own file")
    document = json.loads(documents[0][0])
    expected = 'expected {"data": [...], "package": ..., "type": ...}'
    if not isinstance(document, dict):
        raise BadInput(f"{path} is not a pypistats response (not a JSON object)", expected)
    missing = [key for key in ("data", "package", "type") if key not in document]
    if missing:
        raise BadInput(f"{path} is not a pypistats response: no {', '.join(repr(k) for k in missing)}", expected)
    if document["type"] not in PYPISTATS_TYPES:
        raise BadInput(f"{path}: pypistats response type {document['type']!r} has no daily series",
                       "save the overall, python_major, python_minor or system endpoint")
    if not isinstance(document["data"], list):
        raise BadInput(f"{path}: pypistats 'data' is not a list", "save the API response unchanged")
    return document
