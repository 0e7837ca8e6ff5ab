"""One definition, two engines: the BigQuery SQL depgraph writes, run on DuckDB over rows in BigQuery's own
``file_downloads`` schema, counts what ingesting the same rows as an export stores; the SQL parses as BigQuery's
and names only the public tables' columns; ``fetch`` goes from dry run to stored counts (with a stand-in for
Google's client that runs the SQL on DuckDB: no network), and says what is missing when it cannot run."""

from __future__ import annotations

import json
import os
import random
import sys
import types
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from depgraph.downloads import definitions
from depgraph.downloads.bigquery import (
    CREDENTIALS_HINT,
    EXTRA_HINT,
    PROJECT_HINT,
    Estimate,
    bigquery_releases_sql,
    bigquery_sql,
    fetch,
    fetch_releases,
)
from depgraph.downloads.filenames import canonical_name
from depgraph.downloads.ingest import ingest_file
from depgraph.downloads.queries import download_counts
from depgraph.downloads.releases import releases_requiring
from depgraph.downloads.store import Store, open_store
from depgraph.errors import BadInput, IndexUnavailable, SetupRequired

# The public tables' columns as documented (shared/reference/data-formats.md, section 2a and 2b: linehaul's schema,
# the cloud function's additions and the documented copies of the table), written here independently of the code.
FILE_DOWNLOADS_SCHEMA = {
    "timestamp": "TIMESTAMP", "country_code": "STRING", "url": "STRING", "project": "STRING",
    "file.filename": "STRING", "file.project": "STRING", "file.version": "STRING", "file.type": "STRING",
    "details.installer.name": "STRING", "details.installer.version": "STRING", "details.python": "STRING",
    "details.implementation.name": "STRING", "details.implementation.version": "STRING",
    "details.distro.name": "STRING", "details.distro.version": "STRING", "details.distro.id": "STRING",
    "details.distro.libc.lib": "STRING", "details.distro.libc.version": "STRING", "details.system.name": "STRING",
    "details.system.release": "STRING", "details.cpu": "STRING", "details.openssl_version": "STRING",
    "details.setuptools_version": "STRING", "details.rustc_version": "STRING", "details.ci": "BOOLEAN",
    "tls_protocol": "STRING", "tls_cipher": "STRING",
}
DISTRIBUTION_METADATA_SCHEMA = {
    "metadata_version", "name", "version", "summary", "description", "description_content_type", "author",
    "author_email", "maintainer", "maintainer_email", "license", "license_expression", "license_files", "keywords",
    "classifiers", "platform", "home_page", "download_url", "requires_python", "requires", "provides", "obsoletes",
    "requires_dist", "provides_dist", "obsoletes_dist", "requires_external", "project_urls", "uploaded_via",
    "upload_time", "filename", "size", "path", "python_version", "packagetype", "comment_text", "has_signature",
    "md5_digest", "sha256_digest", "blake2_256_digest",
}
DUCKDB_TYPES = {"STRING": "VARCHAR", "BOOLEAN": "BOOLEAN", "TIMESTAMP": "TIMESTAMPTZ"}
WEEK = (date(2020, 3, 1), date(2020, 3, 7))
DIMENSIONS = ("version", "python", "os", "arch", "installer")
RELEASES = Path(__file__).parent / "data" / "releases" / "distribution-metadata.jsonl"

# --- a sample in BigQuery's row schema --------------------------------------------------------------------------

PROJECTS = [("Flask_Login-0.5.0-py2.py3-none-any.whl", "flask-login", "0.5.0", "bdist_wheel"),
            ("Flask-Login-0.5.0.tar.gz", "Flask-Login", "0.5.0", "sdist"),
            ("Markdown-3.2.1-py2.py3-none-any.whl", "markdown", "3.2.1", "bdist_wheel"),
            ("sentry_sdk-0.14.2-py2.py3-none-any.whl", "sentry-sdk", "0.14.2", "bdist_wheel"),
            ("numpy-1.18.1-cp37-cp37m-manylinux1_x86_64.whl", "numpy", "1.18.1", "bdist_wheel"),
            ("numpy-1.18.1.zip", "numpy", "1.18.1", "sdist"),
            ("zope.interface-5.0.0-py2.py3-none-any.whl", "zope.interface", "5.0.0", "bdist_wheel"),
            ("semantic_version-2.8.4.egg", "semantic-version", "2.8.4", "bdist_egg"),
            ("weird-1.0.tar.gz", "not a name!", "1.0", "sdist"),
            ("empty-1.0.tar.gz", "", "", "")]
PYTHONS = [("2.7.16", "CPython", "2.7.16"), ("3.7.3", "CPython", "3.7.3"), (None, "PyPy", "3.6.9"),
           ("", "CPython", "3.8.1"), ("10", None, None), ("3.10.0", "CPython", "3.10.0"), (None, None, None)]
SYSTEMS = [("Linux", "armv7l", "Raspbian GNU/Linux", "10"), ("Linux", "x86_64", "Ubuntu", "18.04"),
           ("Darwin", "x86_64", "macOS", "10.15.3"), ("Windows", "AMD64", None, None), (None, "", "", None)]
INSTALLERS = [("pip", "18.1"), ("pip", "20.0.2"), ("uv", "0.1.0"), ("bandersnatch", "3.6.0"), (None, None), ("", "")]


def sample_rows(count: int, seed: int = 2020) -> list[dict[str, Any]]:
    """Rows as BigQuery holds them: nested ``file`` and ``details`` (sometimes NULL), times in and out of WEEK."""
    rng = random.Random(seed)
    start = datetime(2020, 2, 29, 20, tzinfo=timezone.utc)
    rows = []
    for _ in range(count):
        filename, project, version, kind = rng.choice(PROJECTS)
        python, implementation, implementation_version = rng.choice(PYTHONS)
        system, cpu, distro, distro_version = rng.choice(SYSTEMS)
        installer, installer_version = rng.choice(INSTALLERS)
        details = None if rng.random() < 0.05 else {
            "installer": {"name": installer, "version": installer_version}, "python": python,
            "implementation": {"name": implementation, "version": implementation_version},
            "distro": {"name": distro, "version": distro_version, "id": None, "libc": None},
            "system": {"name": system, "release": None}, "cpu": cpu, "openssl_version": None,
            "setuptools_version": None, "rustc_version": None, "ci": rng.choice([True, None])}
        moment = start + timedelta(seconds=rng.randrange(8 * 86400), microseconds=rng.randrange(10**6))
        rows.append({"timestamp": moment, "country_code": rng.choice(["GB", "US", None]),
                     "url": f"/packages/{filename}", "project": project,
                     "file": {"filename": filename, "project": project, "version": version, "type": kind},
                     "details": details, "tls_protocol": "TLSv1.2", "tls_cipher": None})
    return rows


def export_line(row: dict[str, Any]) -> str:
    """A row as ``bq extract --destination_format NEWLINE_DELIMITED_JSON`` writes it (times with `` UTC``)."""
    return json.dumps({**row, "timestamp": row["timestamp"].strftime("%Y-%m-%d %H:%M:%S.%f UTC")})


def duckdb_type(columns: dict[str, str]) -> dict[str, str]:
    """The top-level columns of the documented schema as DuckDB types (RECORDs as STRUCTs)."""
    tree: dict[str, Any] = {}
    for path, kind in columns.items():
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = DUCKDB_TYPES[kind]

    def render(node: dict[str, Any] | str) -> str:
        if isinstance(node, str):
            return node
        return "STRUCT(" + ", ".join(f'"{name}" {render(child)}' for name, child in node.items()) + ")"

    return {name: render(child) for name, child in tree.items()}


def bigquery_engine(rows: list[dict[str, Any]], folder: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB holding the rows as ``bigquery-public-data.pypi.file_downloads``, in the table's own schema."""
    source = folder / "rows.jsonl"
    source.write_text("".join(json.dumps({**row, "timestamp": row["timestamp"].isoformat()}) + "\n" for row in rows))
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")  # BigQuery's DATE(timestamp) is the UTC day
    connection.execute("ATTACH ':memory:' AS \"bigquery-public-data\"")
    connection.execute('CREATE SCHEMA "bigquery-public-data".pypi')
    columns = ", ".join(f'"{name}" {kind}' for name, kind in duckdb_type(FILE_DOWNLOADS_SCHEMA).items())
    connection.execute(f'CREATE TABLE "bigquery-public-data".pypi.file_downloads ({columns})')
    spec = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in duckdb_type(FILE_DOWNLOADS_SCHEMA).items()) + "}"
    connection.execute(f'INSERT INTO "bigquery-public-data".pypi.file_downloads '
                       f"SELECT * FROM read_json('{source}', format = 'newline_delimited', columns = {spec})")
    return connection


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[dict[str, Any]], Path]]:
    folder = tmp_path_factory.mktemp("bigquery")
    rows = sample_rows(3000)
    export = folder / "export.jsonl"
    export.write_text("".join(export_line(row) + "\n" for row in rows))
    yield rows, export


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.duckdb") as opened:
        yield opened


def run_on_duckdb(engine: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return engine.execute(sqlglot.transpile(sql, read="bigquery", write="duckdb")[0]).fetchall()


def utc(value: Any) -> Any:
    """A TIMESTAMPTZ from DuckDB (UTC session) or a date, as naive UTC (or the date)."""
    if isinstance(value, datetime) and value.tzinfo:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def counted(rows: list[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    return Counter({tuple(utc(v) for v in row[:-1]): int(row[-1]) for row in rows})


def ingested_counts(store: Store, period: str, packages: list[str] | None = None) -> Counter[tuple[Any, ...]]:
    """The same counts from the rows an ingest stored (per event), over WEEK."""
    wanted = "AND package IN (SELECT unnest($packages))" if packages else ""
    rows = store.connection.execute(f"""
        SELECT {period}, package, {', '.join(DIMENSIONS)}, count(*) FROM downloads
        WHERE ts >= $start AND ts < $end + INTERVAL 1 DAY {wanted} GROUP BY ALL""",
        {"start": WEEK[0], "end": WEEK[1], **({"packages": packages} if packages else {})}).fetchall()
    return counted(rows)


# --- one definition, two engines --------------------------------------------------------------------------------

@pytest.mark.parametrize(("by", "period"), [("day", "ts::DATE"), ("hour", "date_trunc('hour', ts)")])
def test_the_bigquery_query_on_duckdb_counts_what_an_ingest_of_the_same_rows_stores(
        by: str, period: str, sample: tuple[list[dict[str, Any]], Path], tmp_path: Path, store: Store) -> None:
    rows, export = sample
    engine = bigquery_engine(rows, tmp_path)
    remote = counted(run_on_duckdb(engine, bigquery_sql(*WEEK, by=by)))
    report = ingest_file(store, export, "bigquery")
    local = ingested_counts(store, period)
    assert remote == local
    # the sample exercises what the definition decides: refused names, fallbacks, days outside the week
    assert report.rejected == sum(1 for r in rows if canonical_name(r["file"]["project"]) is None)
    assert sum(local.values()) < report.rows
    assert {key[3] for key in local} >= {"2.7", "3.6", "3.10", None}


def test_a_package_filter_keeps_the_same_counts_for_those_packages(
        sample: tuple[list[dict[str, Any]], Path], tmp_path: Path, store: Store) -> None:
    rows, export = sample
    packages = ["markdown", "sentry-sdk", "numpy"]  # always logged in their PEP 503 form in the sample
    engine = bigquery_engine(rows, tmp_path)
    remote = counted(run_on_duckdb(engine, bigquery_sql(*WEEK, ["Markdown", "sentry_sdk", "numpy"])))
    ingest_file(store, export, "bigquery")
    assert remote == ingested_counts(store, "ts::DATE", packages)
    assert {key[1] for key in remote} == set(packages)


def test_the_sql_twin_of_a_pep_503_name_agrees_with_packaging() -> None:
    names = ["Flask-Login", "flask_login", "Zope.Interface", "zope..interface", "A-_.b", "numpy", "X", "not a name!",
             "-leading", "trailing_", "", "  spaced  ", "UPPER_case.Name", "a__b--c..d"]
    engine = duckdb.connect()
    sql = definitions.parse(definitions.expand(f"SELECT IF({definitions.VALID_PACKAGE}, @package, NULL)"),
                            lambda path: exp.column("name", table="t")).sql("duckdb")
    found = dict(engine.execute(f"SELECT t.name, ({sql[len('SELECT '):]}) FROM (SELECT unnest($1) AS name) t",
                                [names]).fetchall())
    assert found == {name: canonical_name(name) for name in names}


# --- the SQL as BigQuery reads it -------------------------------------------------------------------------------

def column_paths(tree: exp.Expression) -> set[str]:
    return {".".join(part.name for part in column.parts) for column in tree.find_all(exp.Column)}


@pytest.mark.parametrize("packages", [None, ["flask-login", "Markdown"]])
@pytest.mark.parametrize("by", ["day", "hour"])
def test_the_bigquery_sql_parses_and_reads_only_columns_of_the_public_table(packages: list[str] | None,
                                                                            by: str) -> None:
    sql = bigquery_sql(date(2020, 3, 1), date(2020, 3, 31), packages, by=by)
    tree = sqlglot.parse_one(sql, read="bigquery")
    assert [table.sql("bigquery") for table in tree.find_all(exp.Table)] == [
        "`bigquery-public-data.pypi.file_downloads`"]
    assert column_paths(tree) <= set(FILE_DOWNLOADS_SCHEMA)
    assert definitions.FILE_DOWNLOADS_COLUMNS == FILE_DOWNLOADS_SCHEMA


def test_the_bigquery_sql_reads_only_the_days_asked_for() -> None:
    """Constant bounds on ``timestamp``, the partitioning column, so BigQuery prunes the other days."""
    tree = sqlglot.parse_one(bigquery_sql(date(2020, 3, 1), date(2020, 3, 7)), read="bigquery")
    bounds = {(type(c).__name__, c.expression.sql("bigquery")) for c in tree.find_all(exp.GTE, exp.LT)
              if isinstance(c.this, exp.Column) and c.this.name == "timestamp"}
    assert bounds == {("GTE", "TIMESTAMP('2020-03-01 00:00:00+00')"), ("LT", "TIMESTAMP('2020-03-08 00:00:00+00')")}


def test_the_releases_sql_parses_and_reads_only_columns_of_distribution_metadata() -> None:
    sql = bigquery_releases_sql(["Flask-Login", "markdown"], datetime(2020, 2, 1), date(2020, 3, 6))
    tree = sqlglot.parse_one(sql, read="bigquery")
    tables = {table.sql("bigquery").split(" AS ")[0] for table in tree.find_all(exp.Table)}
    assert tables == {"`bigquery-public-data.pypi.distribution_metadata`", "windowed", "requiring"}
    base = {column.name for column in tree.find_all(exp.Column) if column.table in ("w", "d", "f")}
    assert base <= DISTRIBUTION_METADATA_SCHEMA
    assert {".".join(p.name for p in c.parts) for c in tree.find_all(exp.Column) if c.table not in ("w", "d", "f")} \
        <= {"c.name", "c.version", "m.name", "m.version", "requirement", "d.requires_dist"}
    assert "'flask-login', 'markdown'" in sql and "TIMESTAMP('2020-02-01 00:00:00+00')" in sql


def distribution_metadata_engine(store: Store) -> duckdb.DuckDBPyConnection:
    """DuckDB holding the store's release corpus as BigQuery holds ``distribution_metadata`` (names as spelled)."""
    engine = duckdb.connect()
    engine.execute("SET TimeZone = 'UTC'")
    engine.execute("ATTACH ':memory:' AS \"bigquery-public-data\"")
    engine.execute('CREATE SCHEMA "bigquery-public-data".pypi')
    engine.execute('CREATE TABLE "bigquery-public-data".pypi.distribution_metadata (name VARCHAR, version VARCHAR, '
                   "upload_time TIMESTAMPTZ, requires_dist VARCHAR[], requires_python VARCHAR, packagetype VARCHAR, "
                   "filename VARCHAR)")
    rows = store.query("SELECT display_name, version, upload_time, requires_dist, requires_python, packagetype, "
                       "filename FROM releases")
    engine.executemany('INSERT INTO "bigquery-public-data".pypi.distribution_metadata VALUES (?, ?, ?, ?, ?, ?, ?)',
                       [(n, v, t.replace(tzinfo=timezone.utc), r, p, k, f) for n, v, t, r, p, k, f in rows])
    return engine


def test_the_releases_query_on_duckdb_finds_what_releases_requiring_finds(tmp_path: Path, store: Store) -> None:
    """The BigQuery SQL over distribution_metadata rows, its result ingested into a new store, gives the releases
    ``releases_requiring`` finds in the whole corpus."""
    ingest_file(store, RELEASES)
    window = (datetime(2020, 2, 1), datetime(2020, 3, 6))
    wanted = ["flask-login", "markdown"]
    expected = releases_requiring(store, wanted, *window)
    assert expected
    fetched = run_on_duckdb(distribution_metadata_engine(store), bigquery_releases_sql(wanted, *window))
    export = tmp_path / "fetched.jsonl"
    export.write_text("".join(json.dumps({"name": n, "version": v, "upload_time": f"{utc(t)} UTC",
                                          "requires_dist": r, "requires_python": p, "packagetype": k,
                                          "filename": f}) + "\n" for n, v, t, r, p, k, f in fetched))
    with open_store(tmp_path / "fetched.duckdb") as fresh:
        ingest_file(fresh, export)
        assert releases_requiring(fresh, wanted, *window) == expected
        assert fresh.query("SELECT count(*) FROM releases")[0][0] < store.query("SELECT count(*) FROM releases")[0][0]


# --- fetch: from dry run to stored counts, through a stand-in for Google's client --------------------------------

class GoogleAPIError(Exception):
    pass


class DefaultCredentialsError(Exception):
    pass


class RefreshError(Exception):
    pass


class QueryJobConfig:
    def __init__(self, dry_run: bool = False, use_query_cache: bool = True,
                 maximum_bytes_billed: int | None = None) -> None:
        self.dry_run, self.use_query_cache, self.maximum_bytes_billed = dry_run, use_query_cache, maximum_bytes_billed


class Job:
    def __init__(self, rows: list[dict[str, Any]], total_bytes_processed: int) -> None:
        self.rows, self.total_bytes_processed = rows, total_bytes_processed

    def result(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)


class StandIn:
    """google-cloud-bigquery's Client as fetch uses it, answering from DuckDB: the SQL it is given is BigQuery's,
    transpiled back by sqlglot and run over the sample in the public table's schema."""

    engine: ClassVar[duckdb.DuckDBPyConnection | None] = None
    scanned: ClassVar[int] = 12_345_678
    failure: ClassVar[Exception | None] = None
    queries: ClassVar[list[tuple[str, QueryJobConfig]]] = []

    def __init__(self, project: str | None = None) -> None:
        if self.failure is not None:
            raise self.failure
        self.project = project

    def query(self, sql: str, job_config: QueryJobConfig) -> Job:
        StandIn.queries.append((sql, job_config))
        if job_config.dry_run:
            return Job([], self.scanned)
        assert self.engine is not None
        cursor = self.engine.execute(sqlglot.transpile(sql, read="bigquery", write="duckdb")[0])
        names = [column[0] for column in cursor.description]
        return Job([dict(zip(names, row, strict=True)) for row in cursor.fetchall()], self.scanned)


def install_google(monkeypatch: pytest.MonkeyPatch, client: type | None) -> None:
    """Put google.cloud.bigquery (with ``client`` as Client; None: not installed) and the google.auth and
    google.api_core exception modules in sys.modules."""
    def module(name: str, **attributes: Any) -> types.ModuleType:
        made = types.ModuleType(name)
        made.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, made)
        return made

    auth = module("google.auth.exceptions", DefaultCredentialsError=DefaultCredentialsError, RefreshError=RefreshError)
    api = module("google.api_core.exceptions", GoogleAPIError=GoogleAPIError)
    if client is None:  # importing it fails: the extra is not installed
        monkeypatch.setitem(sys.modules, "google.cloud", None)
        monkeypatch.setitem(sys.modules, "google.cloud.bigquery", None)
        cloud = None
    else:
        cloud = module("google.cloud", bigquery=module("google.cloud.bigquery", Client=client,
                                                       QueryJobConfig=QueryJobConfig))
    module("google", auth=module("google.auth", exceptions=auth), api_core=module("google.api_core", exceptions=api),
           **({"cloud": cloud} if cloud else {}))


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch, sample: tuple[list[dict[str, Any]], Path],
           tmp_path: Path) -> type[StandIn]:
    engine = bigquery_engine(sample[0], tmp_path)
    monkeypatch.setattr(StandIn, "engine", engine)
    monkeypatch.setattr(StandIn, "queries", [])
    install_google(monkeypatch, StandIn)
    return StandIn


def test_fetch_stores_the_counts_an_ingest_of_the_rows_gives(google: type[StandIn], tmp_path: Path,
                                                              sample: tuple[list[dict[str, Any]], Path]) -> None:
    seen: list[Estimate] = []
    with open_store(tmp_path / "fetched.duckdb") as fetched, open_store(tmp_path / "ingested.duckdb") as ingested:
        result = fetch(fetched, *WEEK, max_bytes=10**9, confirm=lambda estimate: seen.append(estimate) or True)
        ingest_file(ingested, sample[1], "bigquery")
        assert result.ran and result.report is not None and result.report.rejected == 0
        assert seen == [result.estimate] and result.estimate.bytes_processed == StandIn.scanned
        assert [config.dry_run for _, config in google.queries] == [True, False]
        assert google.queries[1][1].maximum_bytes_billed == 10**9
        stored = fetched.query(f"SELECT day, package, {', '.join(DIMENSIONS)}, downloads FROM download_counts")
        assert counted(stored) == ingested_counts(ingested, "ts::DATE")
        for package in ("flask-login", "numpy"):
            for split in ("python", "installer", "arch", "os", "version", None):
                assert download_counts(fetched, [package], *WEEK, split=split) == \
                    download_counts(ingested, [package], *WEEK, split=split)


def test_a_declined_estimate_runs_nothing_and_stores_nothing(google: type[StandIn], store: Store) -> None:
    result = fetch(store, *WEEK, ["numpy"], confirm=lambda estimate: False)
    assert not result.ran and result.report is None
    assert [config.dry_run for _, config in google.queries] == [True]
    assert store.query("SELECT count(*) FROM download_counts") == [(0,)]


def test_a_query_reading_more_than_max_bytes_is_refused_before_it_runs(google: type[StandIn], store: Store) -> None:
    with pytest.raises(BadInput, match="more than the") as error:
        fetch(store, *WEEK, max_bytes=StandIn.scanned - 1)
    assert "--max-bytes" in error.value.hint
    assert [config.dry_run for _, config in google.queries] == [True]


def test_fetching_days_the_store_already_has_is_refused(google: type[StandIn], store: Store) -> None:
    fetch(store, date(2020, 3, 1), date(2020, 3, 3), ["numpy"])
    with pytest.raises(BadInput, match="numpy from 2020-03-02 to 2020-03-03"):
        fetch(store, date(2020, 3, 2), date(2020, 3, 5))
    assert fetch(store, date(2020, 3, 4), date(2020, 3, 5), ["numpy"]).ran


def test_fetch_releases_adds_the_requiring_releases_to_the_corpus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                  store: Store) -> None:
    ingest_file(store, RELEASES)
    monkeypatch.setattr(StandIn, "engine", distribution_metadata_engine(store))
    monkeypatch.setattr(StandIn, "queries", [])
    install_google(monkeypatch, StandIn)
    window = (datetime(2020, 2, 1), datetime(2020, 3, 6))
    with open_store(tmp_path / "fresh.duckdb") as fresh:
        result = fetch_releases(fresh, ["flask-login"], *window)
        assert result.ran and result.rows == result.report.rows > 0  # type: ignore[union-attr]
        assert releases_requiring(fresh, ["flask-login"], *window) == releases_requiring(store, ["flask-login"],
                                                                                           *window)


def test_without_the_extra_fetch_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
    install_google(monkeypatch, None)
    with pytest.raises(SetupRequired) as error:
        fetch(store, *WEEK)
    assert error.value.hint == EXTRA_HINT == "pip install 'depgraph[bigquery]'"
    assert "google-cloud-bigquery" in error.value.message and "\n" not in str(error.value)


@pytest.mark.parametrize(("failure", "hint"), [
    (DefaultCredentialsError("Your default credentials were not found."), CREDENTIALS_HINT),
    (OSError("Project was not passed and could not be determined from the environment."), PROJECT_HINT)])
def test_without_credentials_or_a_project_fetch_says_what_to_run(failure: Exception, hint: str,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  store: Store) -> None:
    monkeypatch.setattr(StandIn, "failure", failure)
    install_google(monkeypatch, StandIn)
    with pytest.raises(SetupRequired) as error:
        fetch(store, *WEEK)
    assert error.value.hint == hint
    assert "gcloud" in str(error.value) and "\n" not in str(error.value)


def test_bigquery_refusing_the_query_is_one_line(monkeypatch: pytest.MonkeyPatch, google: type[StandIn],
                                                 store: Store) -> None:
    def refuse(self: StandIn, sql: str, job_config: QueryJobConfig) -> Job:
        raise GoogleAPIError("403 Access Denied: BigQuery BigQuery: Billing has not been enabled\nmore details")

    monkeypatch.setattr(StandIn, "query", refuse)
    with pytest.raises(IndexUnavailable, match="BigQuery refused the query: 403 Access Denied") as error:
        fetch(store, *WEEK)
    assert "more details" not in str(error.value)


def test_the_cli_prints_the_sql_and_fetches_through_the_normal_ingest(google: type[StandIn], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from depgraph.cli import cli

    first, last = (day.isoformat() for day in WEEK)
    printed = CliRunner().invoke(cli, ["bigquery", "sql", "--from", first, "--to", last, "--packages", "numpy"])
    assert printed.exit_code == 0, printed.output
    assert "file_downloads" in printed.stdout and "'numpy'" in printed.stdout
    store = tmp_path / "cli.duckdb"
    declined = CliRunner().invoke(cli, ["bigquery", "fetch", "--from", first, "--to", last, "--db", str(store)],
                                  input="n\n")
    assert declined.exit_code == 0 and "not run" in declined.stderr
    fetched = CliRunner().invoke(cli, ["bigquery", "fetch", "--from", first, "--to", last, "--db", str(store),
                                       "--yes"])
    assert fetched.exit_code == 0, fetched.output
    assert "daily counts stored" in fetched.stderr
    bad = CliRunner().invoke(cli, ["bigquery", "sql", "--from", "2020-02-30", "--to", last])
    assert bad.exit_code == 2 and "2020-02-30" in bad.stderr


def test_a_transpiled_query_is_kept_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sql = definitions.releases_sql("@wanted", table="releases")
    fresh = definitions.parse(sql).sql("duckdb")
    assert definitions.transpiled(sql, "duckdb") == fresh
    (kept,) = (Path(os.environ["DEPGRAPH_CACHE_DIR"]) / "sql").glob("*.sql")
    kept.write_text("SELECT 'kept'")  # what the cache holds is what comes back: sqlglot is not asked again
    assert definitions.transpiled(sql, "duckdb") == "SELECT 'kept'"
    assert definitions.transpiled(sql, "bigquery") == definitions.parse(sql).sql("bigquery")


def test_transpiling_works_without_a_writable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("DEPGRAPH_CACHE_DIR", str(blocker))
    sql = definitions.releases_sql("@wanted", table="releases")
    assert definitions.transpiled(sql, "duckdb") == definitions.parse(sql).sql("duckdb")
