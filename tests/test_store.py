"""The store refuses what is not its own without touching it; the queries zero-fill and add up."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from depgraph.downloads.ingest import ingest_file
from depgraph.downloads.queries import download_counts, top_packages
from depgraph.downloads.store import SCHEMA_VERSION, Store, open_store
from depgraph.errors import BadInput, StoreError
from tests.test_ingest import LOGS, PIWHEELS_FILES, PYPISTATS_SERIES, piwheels_recount, write_piwheels_log


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with open_store(tmp_path / "store.duckdb") as opened:
        yield opened  # type: ignore[misc]


# --- refusing files that are not ours -------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"name,downloads\nflask,3\n", b"", b"\x00" * 4096], ids=["text", "empty", "zeros"])
def test_a_foreign_file_is_refused_and_left_untouched(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_bytes(content)
    before = fingerprint(path)
    with pytest.raises(StoreError, match="not a depgraph download store") as error:
        open_store(path)
    assert str(path) in error.value.message and error.value.hint
    assert fingerprint(path) == before


def test_another_applications_duckdb_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE users (name VARCHAR); INSERT INTO users VALUES ('ada')")
    connection.close()
    before = fingerprint(path)
    for read_only in (False, True):
        with pytest.raises(StoreError, match="not a depgraph download store"):
            open_store(path, read_only=read_only)
    assert fingerprint(path) == before
    connection = duckdb.connect(str(path), read_only=True)
    assert connection.execute("SELECT * FROM users").fetchall() == [("ada",)]
    connection.close()


def test_a_duckdb_file_with_someone_elses_meta_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE depgraph_meta (key VARCHAR, value VARCHAR); "
                       "INSERT INTO depgraph_meta VALUES ('application', 'something-else')")
    connection.close()
    before = fingerprint(path)
    with pytest.raises(StoreError, match="not a depgraph download store"):
        open_store(path)
    assert fingerprint(path) == before


def test_a_store_with_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    with open_store(path) as store:
        ingest_file(store, PIWHEELS_FILES[0])
        store.connection.execute("UPDATE depgraph_meta SET value = ? WHERE key = 'schema_version'",
                                 [str(SCHEMA_VERSION + 1)])
    before = fingerprint(path)
    for read_only in (False, True):
        with pytest.raises(StoreError, match="newer depgraph") as error:
            open_store(path, read_only=read_only)
        assert "upgrade" in error.value.hint
    assert fingerprint(path) == before


def test_a_missing_store_is_not_created_for_reading(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "store.duckdb"
    with pytest.raises(StoreError, match="no download store"):
        open_store(path, read_only=True)
    assert not path.exists() and not path.parent.exists()


def test_a_directory_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_store(tmp_path)


def test_a_store_reopens_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    with open_store(path) as store:
        ingest_file(store, PIWHEELS_FILES[0])
        rows = store.query("SELECT count(*) FROM downloads")
    with open_store(path, read_only=True) as store:
        assert store.query("SELECT count(*) FROM downloads") == rows
        assert store.meta("schema_version") == str(SCHEMA_VERSION)


# --- queries --------------------------------------------------------------------------------------------------

def days(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def test_downloads_zero_fill_missing_days(tmp_path: Path, store: Store) -> None:
    path = write_piwheels_log(tmp_path / "log.csv", random.Random(5), 40)
    ingest_file(store, path)
    counts = piwheels_recount(path)[0]
    packages = sorted({package for package, _ in counts})
    start, end = date(2020, 2, 27), date(2020, 3, 16)  # wider than the log on both sides
    table = download_counts(store, packages, start, end)
    got = [(row.package, row.period, row.downloads) for row in table.rows]
    expected = [(package, day, counts.get((package, day), 0)) for package in packages for day in days(start, end)]
    assert got == expected
    assert any(count == 0 for _, _, count in got) and any(count for _, _, count in got)


def test_a_package_without_downloads_gets_zeros(store: Store) -> None:
    ingest_file(store, PIWHEELS_FILES[0])
    table = download_counts(store, ["flask"], date(2020, 3, 1), date(2020, 3, 3))
    assert [(r.package, r.period, r.downloads) for r in table.rows] == [("flask", d, 0) for d in
                                                                       days(date(2020, 3, 1), date(2020, 3, 3))]


@pytest.mark.parametrize("split", ["python", "arch", "distro", "installer", "version", "os"])
def test_a_split_sums_to_the_totals(split: str, tmp_path: Path, store: Store) -> None:
    ingest_file(store, write_piwheels_log(tmp_path / "log.csv", random.Random(9), 300))
    for path in [*PIWHEELS_FILES, *PYPISTATS_SERIES[:2], PYPISTATS_SERIES[3], LOGS / "counts-2020-03.csv"]:
        ingest_file(store, path)
    packages = ["flask-login", "markdown", "numpy"]
    totals = {(r.package, r.period): r.downloads for r in download_counts(store, packages).rows}
    split_sums: Counter[tuple[str, str]] = Counter()
    for row in download_counts(store, packages, split=split).rows:
        split_sums[(row.package, row.period)] += row.downloads
    assert dict(split_sums) == totals
    assert sum(totals.values()) > 0


def test_hours_add_up_to_days(tmp_path: Path, store: Store) -> None:
    ingest_file(store, write_piwheels_log(tmp_path / "log.csv", random.Random(3), 200))
    packages = ["flask-login", "numpy"]
    by_day = {(r.package, r.period): r.downloads for r in download_counts(store, packages).rows}
    by_hour: Counter[tuple[str, str]] = Counter()
    for row in download_counts(store, packages, by="hour").rows:
        by_hour[(row.package, row.period[:10])] += row.downloads
    assert dict(by_hour) == by_day


def test_a_package_named_twice_is_counted_once(store: Store) -> None:
    ingest_file(store, PIWHEELS_FILES[0])
    once = download_counts(store, ["flask-login"]).rows
    assert download_counts(store, ["Flask-Login", "flask_login"]).rows == once


def test_pypistats_split_by_python_adds_up_to_its_total(store: Store) -> None:
    for path in PYPISTATS_SERIES[:2]:
        ingest_file(store, path)
    totals = {r.period: r.downloads for r in download_counts(store, ["flask-login"]).rows}
    by_python: Counter[str] = Counter()
    for row in download_counts(store, ["flask-login"], split="python").rows:
        by_python[row.period] += row.downloads
    assert dict(by_python) == totals


def test_top_packages_equal_a_recount(tmp_path: Path, store: Store) -> None:
    path = write_piwheels_log(tmp_path / "log.csv", random.Random(11), 500)
    ingest_file(store, path)
    counts = piwheels_recount(path)[0]
    day = "2020-03-04"
    ranked = sorted(((-n, package) for (package, d), n in counts.items() if d == day))
    got = top_packages(store, date.fromisoformat(day), n=3)
    assert [(r.rank, r.package, r.downloads) for r in got] == [(i + 1, p, -n) for i, (n, p) in enumerate(ranked[:3])]


def test_source_filter(store: Store) -> None:
    ingest_file(store, PIWHEELS_FILES[0])
    ingest_file(store, LOGS / "bigquery-2020-03.jsonl")
    both = sum(r.downloads for r in download_counts(store, ["flask-login"]).rows)
    piwheels = sum(r.downloads for r in download_counts(store, ["flask-login"], source="piwheels").rows)
    pypi = sum(r.downloads for r in download_counts(store, ["flask-login"], source="pypi").rows)
    assert both == piwheels + pypi and piwheels and pypi


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"packages": ["not a name!"]}, "not a valid project name"),
    ({"packages": ["flask-login"], "by": "week"}, "--by"),
    ({"packages": ["flask-login"], "split": "colour"}, "--split"),
    ({"packages": ["flask-login"], "start": date(2020, 3, 9), "end": date(2020, 3, 1)}, "after"),
])
def test_bad_query_arguments_are_bad_input(kwargs: dict, words: str, store: Store) -> None:
    ingest_file(store, PIWHEELS_FILES[0])
    with pytest.raises(BadInput, match=words):
        download_counts(store, **kwargs)


def test_top_needs_a_positive_count(store: Store) -> None:
    with pytest.raises(BadInput, match="-n 0"):
        top_packages(store, date(2020, 3, 5), n=0)
