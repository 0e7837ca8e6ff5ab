"""PyPI's downloads where they live: BigQuery's public dataset, read with the one definition of what depgraph counts.

``bigquery_sql`` writes the query that turns rows of ``bigquery-public-data.pypi.file_downloads`` into the store's
daily counts (``depgraph.downloads.definitions.counts_query``, transpiled by sqlglot: the same definition the
local ingest of BigQuery exports uses); ``bigquery_releases_sql`` the query for the releases of
``distribution_metadata`` that require a set of packages. ``fetch`` and ``fetch_releases`` run them with
``google-cloud-bigquery`` (the optional extra ``depgraph[bigquery]``, imported only here) under the user's default
credentials: a dry run first gives the bytes the query will read, ``confirm`` may stop there, a ``max_bytes``
guard refuses a larger query and caps what BigQuery may bill, and the rows are written to a temporary file that
the ordinary ingest stores (``counts`` or ``releases`` format), in one transaction, once.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from depgraph.downloads.filenames import canonical_list
from depgraph.downloads.formats.scan import IngestReport
from depgraph.downloads.store import Store
from depgraph.errors import BadInput, IndexUnavailable, SetupRequired

DEFAULT_MAX_BYTES = 20 * 10**9  # 20 GB: a week of the columns read, for a few packages, with room to spare
EXTRA_HINT = "pip install 'depgraph[bigquery]'"
CREDENTIALS_HINT = "gcloud auth application-default login"
PROJECT_HINT = "gcloud config set project PROJECT_ID, or set GOOGLE_CLOUD_PROJECT, or give --project"
# the counts file fetch writes: the counts format's columns (platform is the OS, as in pypistats' system series)
COUNTS_HEADER = ("date", "package", "downloads", "version", "python", "platform", "arch", "installer")
RESULT_COLUMNS = ("day", "package", "downloads", "version", "python", "os", "arch", "installer")


@dataclass(frozen=True)
class Estimate:
    """What BigQuery's dry run says a query will read (and so bill, at most), and the guard it is held to."""

    sql: str
    bytes_processed: int
    max_bytes: int

    @property
    def allowed(self) -> bool:
        return self.bytes_processed <= self.max_bytes

    def describe(self) -> str:
        """``12.3 GB to read (at most 20.0 GB allowed)``."""
        return f"{_size(self.bytes_processed)} to read (at most {_size(self.max_bytes)} allowed)"

    def to_dict(self) -> dict[str, Any]:
        return {"sql": self.sql, "bytes_processed": self.bytes_processed, "max_bytes": self.max_bytes}


@dataclass(frozen=True)
class FetchResult:
    """A fetch: its estimate; whether it ran (``confirm`` may decline); the rows BigQuery returned; the ingest."""

    estimate: Estimate
    ran: bool
    rows: int = 0
    report: IngestReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate.to_dict(), "ran": self.ran, "rows": self.rows,
                "ingest": self.report.to_dict() if self.report else None}


def _size(count: int) -> str:
    return f"{count / 1e9:.1f} GB" if count >= 10**8 else f"{count / 1e6:.1f} MB"


# --- the SQL ----------------------------------------------------------------------------------------------------

def bigquery_sql(start: date, end: date, packages: list[str] | None = None, *, by: str = "day") -> str:
    """BigQuery SQL counting PyPI's downloads from ``start`` to ``end`` (UTC days, both included) per ``by`` (day
    or hour), package, version, Python (major.minor), OS, arch and installer; only ``packages`` when given.

    It filters on ``timestamp`` with constants, so BigQuery reads only the days asked for (the table is
    partitioned by day), and it reads only the columns it counts by."""
    from depgraph.downloads.definitions import counts_query

    _check_days(start, end)
    if by not in ("day", "hour"):
        raise BadInput(f"--by {by!r} is not day or hour", "use --by day or --by hour")
    return counts_query(start, end, canonical_list(packages) if packages else None, by=by).sql("bigquery",
                                                                                                 pretty=True)


def bigquery_releases_sql(packages: list[str], start: datetime | date, end: datetime | date) -> str:
    """BigQuery SQL for every file of the releases with a file uploaded in [start, end) (UTC) whose requirements
    name one of ``packages``: rows of ``distribution_metadata`` with the columns the ``releases`` ingest keeps
    (export them as JSON lines or Parquet, or run ``fetch_releases``)."""
    from depgraph.downloads.definitions import bigquery_window, releases_query

    names = canonical_list(packages)
    if not names:
        raise BadInput("no packages given to look for in requirements", "name at least one, e.g. flask")
    first, after = _moment(start), _moment(end)
    if first >= after:
        raise BadInput(f"the window starts at {first} and ends at {after}", "give a start before the end")
    low, high = bigquery_window(first, after)
    return releases_query(names, start=low, end=high).sql("bigquery", pretty=True)


def _check_days(start: date, end: date) -> None:
    if start > end:
        raise BadInput(f"--from {start} is after --to {end}", "swap them")


def _moment(value: datetime | date) -> datetime:
    """A naive UTC datetime (a date is its midnight)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


# --- running it -------------------------------------------------------------------------------------------------

Confirm = Callable[[Estimate], bool]


def estimate(sql: str, *, max_bytes: int = DEFAULT_MAX_BYTES, project: str | None = None) -> Estimate:
    """BigQuery's dry run of ``sql``: the bytes it would read (free; nothing runs)."""
    google = _google()
    return _dry_run(google, _client(google, project), sql, max_bytes)


def fetch(store: Store, start: date, end: date, packages: list[str] | None = None, *,
          max_bytes: int = DEFAULT_MAX_BYTES, project: str | None = None, confirm: Confirm | None = None,
          source: str = "pypi") -> FetchResult:
    """Count PyPI's downloads on BigQuery (``bigquery_sql``) and store them as daily counts of ``source``.

    The store must not hold downloads of ``source`` for those packages and days already (from an earlier fetch,
    a BigQuery export or pypistats: they are the same downloads, and counts add up). Refused before anything
    runs when the dry run says the query would read more than ``max_bytes``; BigQuery is also told to bill no
    more than that. Without the extra, credentials or a project: SetupRequired, saying what to do.
    """
    sql = bigquery_sql(start, end, packages)
    names = canonical_list(packages) if packages else None
    _refuse_overlap(store, start, end, names, source)
    name = f"bigquery-file_downloads-{start}-{end}.csv"
    return _run(sql, max_bytes, project, confirm,
                lambda rows, folder: _ingest_counts(store, rows, folder / name, source))


def fetch_releases(store: Store, packages: list[str], start: datetime | date, end: datetime | date, *,
                   max_bytes: int = DEFAULT_MAX_BYTES, project: str | None = None, confirm: Confirm | None = None,
                   source: str = "pypi") -> FetchResult:
    """Fetch the releases ``bigquery_releases_sql`` finds into the store's release corpus (``releases`` ingest:
    files already stored are not stored twice)."""
    sql = bigquery_releases_sql(packages, start, end)
    name = f"bigquery-distribution_metadata-{_moment(start):%Y%m%dT%H%M%S}-{_moment(end):%Y%m%dT%H%M%S}.jsonl"
    return _run(sql, max_bytes, project, confirm,
                lambda rows, folder: _ingest_releases(store, rows, folder / name, source))


def _run(sql: str, max_bytes: int, project: str | None, confirm: Confirm | None,
         store_rows: Callable[[Iterable[Any], Path], tuple[int, IngestReport]]) -> FetchResult:
    """Dry run, guard, confirmation, then the query; its rows go through ``store_rows`` in a temporary folder."""
    if max_bytes <= 0:
        raise BadInput(f"--max-bytes {max_bytes} is not a positive number of bytes", "e.g. --max-bytes 20000000000")
    google = _google()
    client = _client(google, project)
    planned = _dry_run(google, client, sql, max_bytes)
    if not planned.allowed:
        raise BadInput(f"the query would read {_size(planned.bytes_processed)}, more than the "
                       f"{_size(max_bytes)} allowed", "narrow the days or the packages, or raise --max-bytes")
    if confirm is not None and not confirm(planned):
        return FetchResult(planned, ran=False)
    config = google.bigquery.QueryJobConfig(maximum_bytes_billed=max_bytes)
    rows = _call(google, lambda: client.query(sql, job_config=config).result())
    with tempfile.TemporaryDirectory(prefix="depgraph-bigquery-") as folder:
        count, report = store_rows(rows, Path(folder))
    return FetchResult(planned, ran=True, rows=count, report=report)


def _google() -> SimpleNamespace:
    """google-cloud-bigquery and the exceptions it raises, imported now (the extra is optional)."""
    try:
        from google.api_core import exceptions as api_exceptions
        from google.auth import exceptions as auth_exceptions
        from google.cloud import bigquery
    except ImportError as exc:
        raise SetupRequired("depgraph's BigQuery commands need google-cloud-bigquery, which is not installed",
                            EXTRA_HINT) from exc
    return SimpleNamespace(bigquery=bigquery, api=api_exceptions, auth=auth_exceptions)


def _client(google: SimpleNamespace, project: str | None) -> Any:
    """A client with the default credentials (gcloud's application-default login, or a service account)."""
    try:
        return google.bigquery.Client(project=project)
    except google.auth.DefaultCredentialsError as exc:
        raise SetupRequired("no Google Cloud credentials found for BigQuery", CREDENTIALS_HINT) from exc
    except OSError as exc:  # "Project was not passed and could not be determined from the environment."
        if "project" not in str(exc).lower():
            raise
        raise SetupRequired("no Google Cloud project to run the query in (BigQuery bills the query to it)",
                            PROJECT_HINT) from exc


def _dry_run(google: SimpleNamespace, client: Any, sql: str, max_bytes: int) -> Estimate:
    config = google.bigquery.QueryJobConfig(dry_run=True, use_query_cache=False)
    job = _call(google, lambda: client.query(sql, job_config=config))
    return Estimate(sql, int(job.total_bytes_processed or 0), max_bytes)


def _call(google: SimpleNamespace, call: Callable[[], Any]) -> Any:
    """``call()``, with Google's errors as depgraph's: expired credentials, or BigQuery refusing the query."""
    try:
        return call()
    except (google.auth.RefreshError, google.auth.DefaultCredentialsError) as exc:
        raise SetupRequired(f"the Google Cloud credentials were refused ({_first(exc)})", CREDENTIALS_HINT) from exc
    except google.api.GoogleAPIError as exc:
        raise IndexUnavailable(f"BigQuery refused the query: {_first(exc)}",
                               "check the project's BigQuery access and billing, or --max-bytes") from exc


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _refuse_overlap(store: Store, start: date, end: date, packages: list[str] | None, source: str) -> None:
    """BadInput when the store already has downloads of ``source`` for these packages on these days."""
    wanted = "AND package IN (SELECT unnest($packages))" if packages else ""
    params: dict[str, Any] = {"source": source, "start": start, "end": end}
    if packages:
        params["packages"] = packages
    found = store.connection.execute(f"""
        SELECT package, min(day), max(day) FROM (
            SELECT package, day FROM download_counts
            WHERE source = $source AND day BETWEEN $start AND $end {wanted}
            UNION ALL
            SELECT package, ts::DATE FROM downloads
            WHERE source = $source AND ts >= $start AND ts < $end + INTERVAL 1 DAY {wanted})
        GROUP BY package ORDER BY package LIMIT 1""", params).fetchall()
    if found:
        package, first, last = found[0]
        raise BadInput(f"the store already has {source} downloads of {package} from {first} to {last}: fetching "
                       "them again would count them twice", "fetch other days or packages, or use another --db")


def _ingest_counts(store: Store, rows: Iterable[Any], path: Path, source: str) -> tuple[int, IngestReport]:
    """Write the counts BigQuery returned as a counts file and ingest it."""
    from depgraph.downloads.ingest import ingest_files

    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COUNTS_HEADER)
        for row in rows:
            values = [row[name] for name in RESULT_COLUMNS]
            writer.writerow(["" if value is None else _text(value) for value in values])
            count += 1
    return count, ingest_files(store, [path], "counts", source=source)[0]


def _ingest_releases(store: Store, rows: Iterable[Any], path: Path, source: str) -> tuple[int, IngestReport]:
    """Write the release files BigQuery returned as JSON lines (distribution_metadata's own shape) and ingest."""
    from depgraph.downloads.definitions import RELEASE_COLUMNS
    from depgraph.downloads.ingest import ingest_files

    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({name: _json_value(row[name]) for name in RELEASE_COLUMNS}) + "\n")
            count += 1
    return count, ingest_files(store, [path], "releases", source=source)[0]


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _json_value(value: Any) -> Any:
    """A value as the releases ingest reads it: times as BigQuery writes them (UTC), arrays as lists."""
    if isinstance(value, datetime):
        return _moment(value).isoformat(sep=" ") + " UTC"
    if isinstance(value, tuple):
        return list(value)
    return value
