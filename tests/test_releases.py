"""Release metadata (BigQuery's distribution_metadata): schema 2 and its migration, ingest from JSON lines, CSV
and Parquet, and the release queries; every expectation is recomputed here in plain Python from the export."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from depgraph.downloads import store as store_module
from depgraph.downloads.ingest import HEAD_SIZE, SHOWN_REJECTS, detect_format, ingest_file
from depgraph.downloads.queries import download_counts
from depgraph.downloads.releases import (
    ReleaseRow,
    previous_release,
    releases_between,
    releases_requiring,
    versions_of,
)
from depgraph.downloads.store import SCHEMA_VERSION, Store, open_store
from depgraph.errors import BadInput, StoreError
from tests.files import csv_as_text_parquet
from tests.test_ingest import LOGS, gzipped, nested_parquet, read_text, to_utc, valid_name

EXPORT = Path(__file__).parent / "data" / "releases" / "distribution-metadata.jsonl"
LIBRARIES = ["Flask-Login", "markdown", "sentry_sdk", "semantic-version"]
WEEK = (datetime(2020, 3, 1), datetime(2020, 3, 8))
STORED = "name, display_name, version, upload_time, requires_dist, requires_python, packagetype, filename"
JSON_COLUMNS = ("{'name': 'VARCHAR', 'version': 'VARCHAR', 'upload_time': 'VARCHAR', 'requires_dist': 'VARCHAR[]', "
                "'requires_python': 'VARCHAR', 'packagetype': 'VARCHAR', 'filename': 'VARCHAR', 'size': 'VARCHAR'}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.duckdb") as opened:
        yield opened


# --- plain-Python oracles -------------------------------------------------------------------------------------

def export_rows(path: Path = EXPORT) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read_text(path).splitlines() if line.strip()]


def blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def expected_table(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The releases table the rows should give: one row per file, names canonical, times naive UTC."""
    table = []
    for row in rows:
        requires = row.get("requires_dist")
        table.append((valid_name(row["name"]), row["name"], row["version"], to_utc(row["upload_time"]),
                      None if requires is None else tuple(requires), blank(row.get("requires_python")),
                      blank(row.get("packagetype")), blank(row.get("filename"))))
    return sorted(table, key=repr)


def stored_table(store: Store) -> list[tuple[Any, ...]]:
    rows = store.query(f"SELECT {STORED} FROM releases")
    return sorted(((*row[:4], None if row[4] is None else tuple(row[4]), *row[5:]) for row in rows), key=repr)


def requirement_name(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9])", text)
        return canonicalize_name(match.group(1)) if match else None


def oracle_releases(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (name, version): first upload, union of requirements, first requires_python given, package types."""
    releases: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: to_utc(r["upload_time"])):  # type: ignore[arg-type, return-value]
        key = (str(valid_name(row["name"])), row["version"])
        release = releases.setdefault(key, {"first": to_utc(row["upload_time"]), "display": row["name"],
                                            "requires": set(), "python": None, "types": set()})
        release["requires"].update(row.get("requires_dist") or [])
        release["python"] = release["python"] or blank(row.get("requires_python"))
        release["types"].add(row["packagetype"])
    return releases


def oracle_between(start: datetime, end: datetime) -> list[tuple[str, str]]:
    releases = oracle_releases(export_rows())
    return sorted((key for key, r in releases.items() if start <= r["first"] < end),
                  key=lambda key: (releases[key]["first"], *key))


def as_tuples(rows: list[ReleaseRow]) -> list[tuple[str, str]]:
    return [(row.name, row.version) for row in rows]


# --- variants of the export, written with DuckDB ----------------------------------------------------------------

def as_csv(source: Path, target: Path) -> Path:
    """The export as CSV (columns in another order), ``requires_dist`` a JSON array as TO_JSON_STRING writes."""
    connection = duckdb.connect()
    connection.execute(f"""COPY (SELECT filename, name, version, to_json(requires_dist) AS requires_dist, upload_time,
                                        requires_python, packagetype, size
                                 FROM read_json('{source}', format = 'newline_delimited', columns = {JSON_COLUMNS}))
                           TO '{target}' (FORMAT csv, HEADER)""")
    connection.close()
    return target


def as_parquet(source: Path, target: Path) -> Path:
    """The export as Parquet the way BigQuery writes it: ``requires_dist`` a LIST, ``upload_time`` a timestamp."""
    connection = duckdb.connect()
    connection.execute(f"""COPY (SELECT * REPLACE (upload_time::TIMESTAMPTZ AS upload_time)
                                 FROM read_json('{source}', format = 'newline_delimited', columns = {JSON_COLUMNS}))
                           TO '{target}' (FORMAT parquet)""")
    connection.close()
    return target


def variants(tmp_path: Path) -> dict[str, Path]:
    csv_path = as_csv(EXPORT, tmp_path / "export.csv")
    return {
        "jsonl": EXPORT,
        "jsonl.gz": gzipped(EXPORT, tmp_path / "export.json.gz"),
        "csv": csv_path,
        "csv.gz": gzipped(csv_path, tmp_path / "export-csv.gz"),
        "parquet": as_parquet(EXPORT, tmp_path / "export.parquet"),
        "parquet-text": csv_as_text_parquet(csv_path, tmp_path / "flat.parquet"),
    }


# --- schema 2 and the migration from 1 ------------------------------------------------------------------------

SCHEMA_V1 = """
CREATE TABLE depgraph_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE ingested_files (
    sha256 VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, format VARCHAR NOT NULL, source VARCHAR NOT NULL,
    rows BIGINT NOT NULL, rejected BIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL);
CREATE TABLE downloads (
    source VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, package VARCHAR NOT NULL, version VARCHAR, file_kind VARCHAR,
    filename VARCHAR, python VARCHAR, python_full VARCHAR, implementation VARCHAR, arch VARCHAR, os VARCHAR,
    distro VARCHAR, distro_version VARCHAR, installer VARCHAR, installer_version VARCHAR, client VARCHAR,
    file_sha256 VARCHAR NOT NULL);
CREATE TABLE download_counts (
    source VARCHAR NOT NULL, day DATE NOT NULL, package VARCHAR NOT NULL, breakdown VARCHAR NOT NULL,
    version VARCHAR, python VARCHAR, os VARCHAR, arch VARCHAR, installer VARCHAR, downloads BIGINT NOT NULL,
    file_sha256 VARCHAR NOT NULL);
INSERT INTO depgraph_meta VALUES ('application', 'depgraph'), ('schema_version', '1'), ('client_salt', 'c0ffee');
INSERT INTO ingested_files VALUES ('aa11', 'log.csv', 'piwheels', 'piwheels', 2, 0, '2020-03-06 09:00:00'),
                                  ('bb22', 'counts.csv', 'counts', 'counts', 1, 0, '2020-03-06 09:01:00');
INSERT INTO downloads VALUES
    ('piwheels', '2020-03-05 10:00:00', 'flask-login', '0.5.0', 'wheel', 'Flask_Login-0.5.0-py2.py3-none-any.whl',
     '3.7', '3.7.3', 'CPython', 'armv7l', 'Linux', 'Raspbian GNU/Linux', '10', 'pip', '18.1', '0a1b2c3d4e5f6789',
     'aa11'),
    ('piwheels', '2020-03-05 11:00:00', 'markdown', '3.2.1', 'wheel', 'Markdown-3.2.1-py2.py3-none-any.whl',
     '2.7', '2.7.16', 'CPython', 'armv6l', 'Linux', 'Raspbian GNU/Linux', '10', 'pip', '18.1', NULL, 'aa11');
INSERT INTO download_counts VALUES ('counts', '2020-03-05', 'flask-login', 'total', NULL, NULL, NULL, NULL, NULL, 7,
                                    'bb22');
"""
V1_TABLES = ("depgraph_meta", "ingested_files", "downloads", "download_counts")
V1_INGESTED_FILES = "sha256, name, format, source, rows, rejected, ingested_at"


def version_1_store(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """A store as depgraph's schema 1 wrote it, with some rows; returns its tables' contents."""
    connection = duckdb.connect(str(path))
    connection.execute(SCHEMA_V1)
    contents = {table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                for table in V1_TABLES}
    connection.close()
    return contents


def tables_of(store: Store, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    """The tables' rows, with the columns schema 1 had (schema 3 numbers ingested_files: ``id``)."""
    def columns(table: str) -> str:
        return V1_INGESTED_FILES if table == "ingested_files" else "*"

    return {table: sorted(store.query(f"SELECT {columns(table)} FROM {table}"), key=repr) for table in tables}


def test_a_new_store_has_the_releases_table(store: Store) -> None:
    assert store.meta("schema_version") == str(SCHEMA_VERSION)
    columns = store.query("SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_name = 'releases' ORDER BY ordinal_position")
    assert dict(columns) == {"source": "VARCHAR", "name": "VARCHAR", "display_name": "VARCHAR",
                             "version": "VARCHAR", "upload_time": "TIMESTAMP", "requires_dist": "VARCHAR[]",
                             "requires_python": "VARCHAR", "packagetype": "VARCHAR", "filename": "VARCHAR",
                             "file_sha256": "VARCHAR"}


def test_a_version_1_store_is_migrated_in_place_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    before = version_1_store(path)
    with open_store(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        after = tables_of(store, V1_TABLES)
        assert store.query("SELECT count(*) FROM releases") == [(0,)]
        assert download_counts(store, ["flask-login"]).rows  # the old rows still answer queries
        ingest_file(store, EXPORT)
        assert releases_between(store, *WEEK)
    schema_row = ("schema_version", "1")
    assert after["depgraph_meta"] == sorted([r for r in before["depgraph_meta"] if r != schema_row]
                                            + [("schema_version", str(SCHEMA_VERSION))], key=repr)
    assert {t: after[t] for t in V1_TABLES[1:]} == {t: before[t] for t in V1_TABLES[1:]}


def test_downloads_ingested_after_the_migration_join_the_migrated_ones(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    before = version_1_store(path)
    with open_store(path) as store:
        report = ingest_file(store, LOGS / "piwheels-2020-03.csv")
        by_file = dict(store.query("SELECT file_sha256, count(*) FROM downloads GROUP BY 1"))
        assert by_file == {"aa11": len(before["downloads"]), report.sha256: report.rows}
        assert [row[0] for row in store.query("SELECT id FROM ingested_files ORDER BY ingested_at")] == [1, 2, 3]
        migrated = store.query("SELECT * FROM downloads WHERE file_sha256 = 'aa11'")
    assert sorted(migrated, key=repr) == before["downloads"]


def test_a_version_1_store_opened_read_only_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    before = version_1_store(path)
    with open_store(path, read_only=True) as store:
        assert tables_of(store, V1_TABLES) == before
        with pytest.raises(StoreError, match="predates release metadata") as error:
            releases_between(store, *WEEK)
        assert "for writing" in error.value.hint
    with open_store(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)


def test_a_failing_migration_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.duckdb"
    before = version_1_store(path)
    broken = {**store_module.MIGRATIONS, 1: store_module.RELEASES_TABLE + "CREATE TABLE downloads (x INTEGER);"}
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    with pytest.raises(StoreError, match=f"from schema 1 to {SCHEMA_VERSION}") as error:
        open_store(path)
    assert str(path) in error.value.message
    monkeypatch.undo()
    connection = duckdb.connect(str(path), read_only=True)
    tables = {row[0] for row in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    contents = {table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                for table in V1_TABLES}
    connection.close()
    assert "releases" not in tables and contents == before


def test_a_store_without_a_schema_version_gets_the_whole_schema(tmp_path: Path) -> None:
    path = tmp_path / "unversioned.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE depgraph_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL); "
                       "INSERT INTO depgraph_meta VALUES ('application', 'depgraph')")
    connection.close()
    with open_store(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        relations = store.query("SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views()")
        assert {"releases", *V1_TABLES} <= {row[0] for row in relations}

# --- detection ------------------------------------------------------------------------------------------------

def test_every_layout_of_the_export_is_detected_whatever_its_name(tmp_path: Path) -> None:
    for name, path in variants(tmp_path).items():
        assert detect_format(path) == "releases", name
        renamed = tmp_path / f"misleading-{name}.jsonl"
        shutil.copy(path, renamed)
        assert detect_format(renamed) == "releases", name


def test_the_other_formats_are_detected_as_before(tmp_path: Path) -> None:
    for path in sorted(LOGS.iterdir()):
        assert detect_format(path) == path.name.split("-")[0], path.name
    bigquery = LOGS / "bigquery-2020-03.jsonl"
    assert detect_format(nested_parquet(bigquery, tmp_path / "downloads.parquet")) == "bigquery"


def test_a_first_row_longer_than_the_sniffed_head_is_still_detected(tmp_path: Path, store: Store) -> None:
    row = {**export_rows()[0], "description": "x" * (HEAD_SIZE * 2)}
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(row) + "\n" + EXPORT.read_text())
    assert detect_format(path) == "releases"
    report = ingest_file(store, path)
    assert (report.rows, report.rejected) == (len(export_rows()), 0)  # the long row is the first row again
    assert report.duplicates == 1


def test_rows_without_requires_dist_or_packagetype_need_the_format_named(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "bare.jsonl"
    rows = [{key: row[key] for key in ("name", "version", "upload_time")} for row in export_rows()]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(BadInput, match="cannot tell its format"):
        detect_format(path)
    report = ingest_file(store, path, "releases")
    assert report.rows == len({(r["name"], r["version"], r["upload_time"]) for r in rows})
    assert store.query("SELECT count(*) FROM releases WHERE requires_dist IS NOT NULL OR packagetype IS NOT NULL") \
        == [(0,)]


def test_parquet_of_neither_kind_is_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    connection = duckdb.connect()
    connection.execute(f"COPY (SELECT 'flask' AS name, 1 AS downloads) TO '{path}' (FORMAT parquet)")
    connection.close()
    with pytest.raises(BadInput, match="nor release metadata") as error:
        detect_format(path)
    assert str(path) in error.value.message and error.value.hint


def test_a_format_given_must_match_the_content(store: Store) -> None:
    with pytest.raises(BadInput, match="looks like a releases file"):
        ingest_file(store, EXPORT, "bigquery")
    with pytest.raises(BadInput, match="looks like a bigquery file"):
        ingest_file(store, LOGS / "bigquery-2020-03.jsonl", "releases")


# --- ingest ---------------------------------------------------------------------------------------------------

def test_the_export_is_stored_one_row_per_file(store: Store) -> None:
    rows = export_rows()
    report = ingest_file(store, EXPORT)
    assert (report.format, report.rows, report.rejected, report.duplicates) == ("releases", len(rows), 0, 0)
    assert stored_table(store) == expected_table(rows)
    assert store.query("SELECT DISTINCT source FROM releases") == [("pypi",)]
    assert store.query("SELECT format, source, rows FROM ingested_files") == [("releases", "pypi", len(rows))]
    wheel_and_sdist = store.query("SELECT packagetype FROM releases WHERE name = 'octoprint' AND version = '1.4.0' "
                                  "ORDER BY packagetype")
    assert wheel_and_sdist == [("bdist_wheel",), ("sdist",)]


def test_jsonl_csv_and_parquet_give_identical_tables(tmp_path: Path) -> None:
    expected = expected_table(export_rows())
    for name, path in variants(tmp_path).items():
        with open_store(tmp_path / f"{name}.duckdb") as store:
            report = ingest_file(store, path)
            assert (report.format, report.rows, report.rejected) == ("releases", len(expected), 0), name
            assert stored_table(store) == expected, name


def test_times_are_utc_whatever_the_session_time_zone(tmp_path: Path, store: Store) -> None:
    store.connection.execute("SET TimeZone = 'America/New_York'")
    ingest_file(store, as_parquet(EXPORT, tmp_path / "export.parquet"))
    expected = sorted(to_utc(row["upload_time"]) for row in export_rows())  # type: ignore[type-var]
    assert sorted(t for (t,) in store.query("SELECT upload_time FROM releases")) == expected
    with open_store(tmp_path / "jsonl.duckdb") as other:
        other.connection.execute("SET TimeZone = 'Asia/Kolkata'")
        ingest_file(other, EXPORT)
        assert stored_table(other) == stored_table(store)


def test_reingesting_changes_nothing_and_overlapping_exports_store_each_file_once(tmp_path: Path,
                                                                                  store: Store) -> None:
    ingest_file(store, EXPORT)
    before = tables_of(store, ("releases", "ingested_files"))
    again = ingest_file(store, EXPORT)
    csv_copy = ingest_file(store, as_csv(EXPORT, tmp_path / "same-rows.csv"))
    assert again.skipped and (csv_copy.rows, csv_copy.duplicates) == (0, len(export_rows()))
    assert tables_of(store, ("releases",)) == {"releases": before["releases"]}
    # a later export overlapping the first: its new file is stored, the files already there are not
    new_row = {"name": "OctoPrint", "version": "1.4.1", "upload_time": "2020-08-04 09:55:58.400531 UTC",
               "requires_dist": ["flask<2,>=1.1.2"], "packagetype": "bdist_wheel",
               "filename": "OctoPrint-1.4.1-py2.py3-none-any.whl"}
    later = tmp_path / "later.jsonl"
    overlap = export_rows()[:5]
    later.write_text("".join(json.dumps(row) + "\n" for row in [*overlap, new_row, overlap[0]]))
    report = ingest_file(store, later)
    assert (report.rows, report.duplicates, report.rejected) == (1, len(overlap) + 1, 0)
    assert stored_table(store) == expected_table([*export_rows(), new_row])


def test_source_can_be_named(store: Store) -> None:
    ingest_file(store, EXPORT, source="mirror")
    assert store.query("SELECT DISTINCT source FROM releases") == [("mirror",)]
    assert releases_between(store, *WEEK, source="pypi") == []
    assert as_tuples(releases_between(store, *WEEK, source="mirror")) == oracle_between(*WEEK)


def test_no_temporary_tables_are_left_behind(tmp_path: Path, store: Store) -> None:
    for path in variants(tmp_path).values():
        ingest_file(store, path)
    releases_requiring(store, LIBRARIES, *WEEK)
    leftovers = store.query("SELECT table_name FROM duckdb_tables() WHERE temporary "
                            "AND table_name NOT IN ('reject_errors', 'reject_scans')")
    assert leftovers == []


# --- bad rows -------------------------------------------------------------------------------------------------

GOOD = {"name": "tiny-tool", "version": "2.0", "upload_time": "2020-03-05 09:00:00 UTC",
        "requires_dist": ["Flask-Login>=0.4"], "packagetype": "bdist_wheel",
        "filename": "tiny_tool-2.0-py3-none-any.whl"}
BAD_ROWS: list[tuple[str, dict[str, Any] | str]] = [
    ("no name", {k: v for k, v in GOOD.items() if k != "name"}),
    ("not a valid project name", {**GOOD, "name": "not a name!"}),
    ("no version", {**GOOD, "version": " "}),
    ("no upload_time", {**GOOD, "upload_time": None}),
    ("is not a time", {**GOOD, "upload_time": "last Tuesday"}),
    ("is not a JSON array", {**GOOD, "requires_dist": "Flask-Login>=0.4"}),
    ("other than strings", {**GOOD, "requires_dist": ["Flask-Login>=0.4", 3]}),
    ("not valid JSON", '{"name": "tiny-tool", "version": '),
    ("not a JSON object", '["tiny-tool", "2.0"]'),
]


def test_bad_json_rows_are_rejected_by_line(tmp_path: Path, store: Store) -> None:
    lines: list[str] = []
    bad: list[tuple[int, str]] = []
    for i, (reason, row) in enumerate(BAD_ROWS):
        lines.append(json.dumps({**GOOD, "version": f"2.{i}"}))
        lines.append("")
        lines.append(row if isinstance(row, str) else json.dumps(row))
        bad.append((len(lines), reason))
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(export_rows()[0]) + "\n" + "\n".join(lines) + "\n")
    bad = [(line + 1, reason) for line, reason in bad]  # after the first (good) row
    report = ingest_file(store, path)
    assert (report.rows, report.rejected) == (len(BAD_ROWS) + 1, len(BAD_ROWS))
    assert [e.line for e in report.examples] == [line for line, _ in bad[:SHOWN_REJECTS]]
    for (_, reason), example in zip(bad, report.examples, strict=False):
        assert reason in example.reason


def test_every_bad_json_row_has_its_reason(tmp_path: Path, store: Store) -> None:
    for i, (reason, row) in enumerate(BAD_ROWS):
        path = tmp_path / f"bad-{i}.jsonl"
        path.write_text(json.dumps(GOOD) + "\n" + (row if isinstance(row, str) else json.dumps(row)) + "\n")
        report = ingest_file(store, path, "releases")
        assert report.rejected == 1 and report.examples[0].line == 2, reason
        assert reason in report.examples[0].reason, report.examples[0].reason


def test_bad_csv_rows_are_rejected_by_line(tmp_path: Path, store: Store) -> None:
    header = "name,version,upload_time,requires_dist,packagetype"
    rows = [(header, False), ('tiny-tool,2.0,2020-03-05 09:00:00 UTC,"[""Flask-Login>=0.4""]",bdist_wheel', False),
            ("tiny-tool,2.1,2020-03-05 09:00:00 UTC,Flask-Login>=0.4,bdist_wheel", True),
            ("", False), (",2.2,2020-03-05 09:00:00 UTC,[],sdist", True),
            ("tiny-tool,2.3,2020-03-05T10:00:00+01:00,,sdist", False),
            ("tiny-tool,2.4,yesterday,[],sdist", True), ("tiny-tool,2.5", True),
            ('tiny-tool,2.6,2020-03-05 09:00:00,"[""a"", ""b; python_version < \'3\'""]",sdist', False)]
    path = tmp_path / "releases.csv"
    path.write_text("\n".join(text for text, _ in rows) + "\n")
    bad = [i for i, (_, is_bad) in enumerate(rows, 1) if is_bad]
    report = ingest_file(store, path)
    assert report.format == "releases"
    assert [e.line for e in report.examples] == bad and report.rejected == len(bad)
    stored = dict(store.query("SELECT version, requires_dist FROM releases"))
    assert stored == {"2.0": ["Flask-Login>=0.4"], "2.3": None, "2.6": ["a", "b; python_version < '3'"]}
    assert store.query("SELECT upload_time FROM releases WHERE version = '2.3'") == [(datetime(2020, 3, 5, 9),)]


def test_bad_parquet_rows_are_reported_by_row(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "rows.parquet"
    connection = duckdb.connect()
    connection.execute(f"""COPY (SELECT * FROM (VALUES
            ('tiny-tool', '2.0', TIMESTAMP '2020-03-05 09:00:00', ['Flask-Login>=0.4'], 'bdist_wheel'),
            (NULL, '2.1', TIMESTAMP '2020-03-05 09:00:00', [], 'sdist'),
            ('tiny-tool', '2.2', NULL, NULL, 'sdist'))
        t(name, version, upload_time, requires_dist, packagetype)) TO '{path}' (FORMAT parquet)""")
    connection.close()
    report = ingest_file(store, path)
    assert (report.rows, report.rejected) == (1, 2)
    assert [(e.line, e.reason) for e in report.examples] == [(None, "row 2: no name"), (None, "row 3: no upload_time")]


def test_strict_refuses_a_file_with_a_bad_row_and_stores_nothing(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(EXPORT.read_text() + json.dumps({**GOOD, "upload_time": "soon"}) + "\n")
    with pytest.raises(BadInput, match="--strict") as error:
        ingest_file(store, path, strict=True)
    assert str(path) in error.value.message and f"line {len(export_rows()) + 1}" in error.value.message
    assert store.query("SELECT count(*) FROM releases") == [(0,)]
    assert store.query("SELECT count(*) FROM ingested_files") == [(0,)]


def test_csv_without_the_needed_columns_is_bad_input(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "releases.csv"
    path.write_text("name,version,requires_dist\ntiny-tool,2.0,[]\n")
    with pytest.raises(BadInput, match="no upload_time column"):
        ingest_file(store, path, "releases")


# --- queries --------------------------------------------------------------------------------------------------

def test_releases_between_equals_a_python_grouping(store: Store) -> None:
    ingest_file(store, EXPORT)
    releases = oracle_releases(export_rows())
    for start, end in [WEEK, (datetime(2019, 1, 1), datetime(2021, 1, 1)), (datetime(2020, 3, 3, 8),
                                                                           datetime(2020, 3, 5, 8))]:
        got = releases_between(store, start, end)
        assert as_tuples(got) == oracle_between(start, end)
        for row in got:
            release = releases[(row.name, row.version)]
            assert row.upload_time == release["first"] and row.display_name == release["display"]
            assert row.requires_dist == tuple(sorted(release["requires"]))
            assert row.requires_python == release["python"]
            assert row.packagetypes == tuple(sorted(release["types"]))
    assert ("pi-sensor-kit", "1.0.0") not in as_tuples(releases_between(store, *WEEK))  # only its wheel is new
    assert releases_between(store, WEEK[0], WEEK[0]) == []


def test_a_release_spans_its_files(store: Store) -> None:
    ingest_file(store, EXPORT)
    (monitor,) = [r for r in releases_between(store, *WEEK) if r.name == "printfarm-monitor"]
    files = [row for row in export_rows() if row["name"] == "printfarm-monitor" and row["version"] == "0.3.0"]
    assert monitor.packagetypes == ("bdist_wheel", "sdist")
    assert set(monitor.requires_dist) == {req for row in files for req in row["requires_dist"]}
    assert len(monitor.requires_dist) > len(files[0]["requires_dist"])  # the sdist spells two of them otherwise
    assert monitor.upload_time == min(to_utc(row["upload_time"]) for row in files)  # type: ignore[type-var]


def test_releases_requiring_compares_canonical_names(store: Store) -> None:
    ingest_file(store, EXPORT)
    wanted = {canonicalize_name(name) for name in LIBRARIES}
    releases = oracle_releases(export_rows())
    expected = [key for key in oracle_between(*WEEK)
                if any(requirement_name(req) in wanted for req in releases[key]["requires"])]
    got = releases_requiring(store, LIBRARIES, *WEEK)
    assert as_tuples(got) == expected
    names = {name for name, _ in expected}
    assert {"octoprint", "printfarm-monitor", "docs-builder", "pi-release-notes", "tiny-tool"} <= names
    assert "notes-renderer" not in names  # markdown2, flask-loginpass: other projects
    assert "crash-reporter-kit" not in names and "pi-sensor-kit" not in names  # not released that week
    assert got == [row for row in releases_between(store, *WEEK) if (row.name, row.version) in expected]


def test_releases_requiring_one_library(store: Store) -> None:
    ingest_file(store, EXPORT)
    year = (datetime(2019, 1, 1), datetime(2021, 1, 1))
    releases = oracle_releases(export_rows())
    for library in ["flask", "sentry-sdk", "Jinja2", "0.6", "nothing-requires-this"]:
        expected = [key for key in oracle_between(*year)
                    if any(requirement_name(req) == canonicalize_name(library) for req in releases[key]["requires"])]
        assert as_tuples(releases_requiring(store, [library], *year)) == expected, library
    assert ("sentry-sdk", "0.14.2") in as_tuples(releases_requiring(store, ["flask"], *year))  # an extra names it


def test_the_new_release_pins_the_libraries_its_previous_release_required_otherwise(store: Store) -> None:
    ingest_file(store, EXPORT)
    new = next(r for r in releases_requiring(store, LIBRARIES, *WEEK) if r.name == "octoprint")
    previous = previous_release(store, "OctoPrint", new.version)
    assert previous is not None and previous.version == "1.3.12"

    def by_name(release: ReleaseRow) -> dict[str, str]:
        return {str(requirement_name(req)): req for req in release.requires_dist}

    before, after = by_name(previous), by_name(new)
    changed = {name for name in before.keys() & after.keys()
               if Requirement(before[name]).specifier != Requirement(after[name]).specifier}
    assert {canonicalize_name(name) for name in LIBRARIES} <= changed
    assert before["jinja2"] == after["jinja2"]  # kept unchanged


def test_previous_release_goes_by_first_upload_then_version(store: Store) -> None:
    ingest_file(store, EXPORT)
    previous = previous_release(store, "tiny_tool", "1.10.0")
    assert previous is not None and previous.version == "1.9.0"  # same instant: PEP 440 order, not text order
    assert previous_release(store, "tiny-tool", "1.9.0").version == "1.8.0"  # type: ignore[union-attr]
    assert previous_release(store, "tiny-tool", "1.8.0") is None
    assert previous_release(store, "printfarm-monitor", "0.4").version == "0.3.0"  # type: ignore[union-attr]
    with pytest.raises(BadInput, match=r"no release octoprint 9\.9"):
        previous_release(store, "octoprint", "9.9")


def test_versions_of_lists_first_uploads_before_a_time(store: Store) -> None:
    ingest_file(store, EXPORT)
    releases = oracle_releases(export_rows())
    for name, before in [("printfarm-monitor", datetime(2020, 3, 5)), ("tiny-tool", datetime(2020, 3, 6)),
                         ("OctoPrint", datetime(2020, 3, 4, 11, 46, 8, 169385)), ("unknown-project", WEEK[1])]:
        mine = [(version, release["first"]) for (project, version), release in releases.items()
                if project == canonicalize_name(name) and release["first"] < before]
        expected = sorted(mine, key=lambda item: (item[1], Version(item[0])))
        assert versions_of(store, name, before) == expected, name


def test_aware_times_are_converted_to_utc(store: Store) -> None:
    ingest_file(store, EXPORT)
    paris = timezone(timedelta(hours=1))
    aware = (WEEK[0].replace(tzinfo=paris) + timedelta(hours=1), WEEK[1].replace(tzinfo=paris) + timedelta(hours=1))
    assert releases_between(store, *aware) == releases_between(store, *WEEK)
    assert releases_between(store, WEEK[0].date(), WEEK[1].date()) == releases_between(store, *WEEK)


def test_release_rows_serialise(store: Store) -> None:
    ingest_file(store, EXPORT)
    rows = releases_requiring(store, LIBRARIES, *WEEK)
    document = json.loads(json.dumps([row.to_dict() for row in rows]))
    assert [(d["name"], d["version"]) for d in document] == as_tuples(rows)
    assert document[0]["upload_time"].endswith("Z")


@pytest.mark.parametrize(("call", "words"), [
    (lambda s: releases_between(s, WEEK[1], WEEK[0]), "swap"),
    (lambda s: releases_requiring(s, ["not a name!"], *WEEK), "not a valid project name"),
    (lambda s: releases_requiring(s, [], *WEEK), "no packages"),
    (lambda s: previous_release(s, "not a name!", "1.0"), "not a valid project name"),
    (lambda s: versions_of(s, "", WEEK[1]), "not a valid project name"),
], ids=["window", "package", "no-packages", "previous", "versions"])
def test_bad_query_arguments_are_bad_input(call: Any, words: str, store: Store) -> None:
    ingest_file(store, EXPORT)
    with pytest.raises(BadInput) as error:
        call(store)
    assert words in str(error.value)

