"""daily_downloads, the per-(index, package, day) totals every ingest keeps: after any sequence of ingests they
equal a fresh sum of everything stored, and a store of an older schema gets them when it is migrated."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depgraph.downloads import daily
from depgraph.downloads.ingest import ingest_file
from depgraph.downloads.store import DAILY_TOTALS, Store, open_store
from depgraph.errors import BadInput
from tests.test_ingest import LOGS, write_piwheels_log
from tests.test_releases import version_1_store

Totals = list[tuple[str, str, str, int]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.duckdb") as opened:
        yield opened


def kept(store: Store) -> Totals:
    return sorted((s, p, str(d), int(n)) for s, p, d, n in store.query("SELECT * FROM daily_downloads"))


def recounted(store: Store) -> Totals:
    return sorted((s, p, str(d), int(n)) for s, p, d, n in store.query(DAILY_TOTALS))


SEQUENCES = {
    "piwheels log with refused rows": ["piwheels-mixed.csv"],
    "two piwheels logs": ["piwheels-2020-03.csv", "piwheels-mixed.csv"],
    "bigquery rows": ["bigquery-2020-03.jsonl", "bigquery-mixed.jsonl"],
    "pypistats splits beside the total": ["pypistats-overall.json", "pypistats-python-minor.json",
                                          "pypistats-system.json"],
    "counts, then events of the same days": ["counts-2020-03.csv", "piwheels-2020-03.csv", "bigquery-2020-03.jsonl"],
    "events, then counts of the same days": ["bigquery-2020-03.jsonl", "pypistats-overall.json",
                                             "counts-2020-03.csv"],
}


@pytest.mark.parametrize("files", SEQUENCES.values(), ids=SEQUENCES.keys())
def test_the_kept_totals_equal_a_fresh_sum_after_every_ingest(files: list[str], store: Store) -> None:
    for name in files:
        report = ingest_file(store, LOGS / name)
        assert report.rows
        assert kept(store) == recounted(store), f"after {name}"
    assert kept(store)


def test_a_newer_pypistats_response_replaces_its_days_beside_the_events(store: Store, tmp_path: Path) -> None:
    events = ingest_file(store, LOGS / "bigquery-2020-03.jsonl")
    days = sorted({str(d) for (d,) in store.query("SELECT DISTINCT ts::DATE FROM downloads")})
    package = store.query("SELECT package FROM downloads GROUP BY ALL ORDER BY count(*) DESC LIMIT 1")[0][0]
    for name, base in (("older.json", 100), ("newer.json", 500)):
        data = [{"category": "without_mirrors", "date": day, "downloads": base + i} for i, day in enumerate(days)]
        (tmp_path / name).write_text(json.dumps({"data": data, "package": package, "type": "overall_downloads"}))
        ingest_file(store, tmp_path / name)
        assert kept(store) == recounted(store), f"after {name}"
    mine = {day: n for source, name, day, n in kept(store) if source == "pypi" and name == package}
    events_of = dict(store.query("SELECT ts::DATE::VARCHAR, count(*) FROM downloads WHERE package = ? GROUP BY 1",
                                 [package]))
    assert events.rows and mine == {day: 500 + i + events_of.get(day, 0) for i, day in enumerate(days)}


def test_a_file_ingested_twice_is_counted_once(store: Store, tmp_path: Path) -> None:
    ingest_file(store, LOGS / "piwheels-2020-03.csv")
    before = kept(store)
    copy = tmp_path / "again.csv"
    shutil.copy(LOGS / "piwheels-2020-03.csv", copy)
    assert ingest_file(store, copy).skipped
    assert kept(store) == before


def test_a_refused_file_leaves_the_totals_as_they_were(store: Store) -> None:
    ingest_file(store, LOGS / "piwheels-2020-03.csv")
    before = kept(store)
    with pytest.raises(BadInput):
        ingest_file(store, LOGS / "piwheels-mixed.csv", strict=True)
    assert kept(store) == before


def test_refused_rows_are_not_counted(store: Store) -> None:
    report = ingest_file(store, LOGS / "piwheels-mixed.csv")
    assert report.rejected
    assert sum(row[3] for row in kept(store)) == report.rows


def test_a_migrated_store_gets_its_totals(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    version_1_store(path)
    with open_store(path) as store:
        assert kept(store) == recounted(store) == [("counts", "flask-login", "2020-03-05", 7),
                                                   ("piwheels", "flask-login", "2020-03-05", 1),
                                                   ("piwheels", "markdown", "2020-03-05", 1)]


def test_an_old_store_opened_read_only_is_summed_on_the_fly(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    version_1_store(path)
    with open_store(path, read_only=True) as store:
        relation = daily.daily_relation(store)
        assert relation != daily.DAILY_TABLE
        rows = store.query(f"SELECT source, package, day::VARCHAR, downloads FROM {relation} ORDER BY ALL")
    assert rows == [("counts", "flask-login", "2020-03-05", 7), ("piwheels", "flask-login", "2020-03-05", 1),
                    ("piwheels", "markdown", "2020-03-05", 1)]


PACKAGES = ("flask-login", "markdown", "numpy")
Step = tuple[str, int, list[tuple[int, int, int]]]  # format, seed, (day, package, downloads) rows


@st.composite
def ingest_steps(draw: st.DrawFn) -> list[Step]:
    """A few files of one index, in any order: piwheels logs, counts files and pypistats responses whose days
    overlap (a later pypistats response of a package replaces the earlier one's days)."""
    rows = st.lists(st.tuples(st.integers(0, 13), st.integers(0, len(PACKAGES) - 1), st.integers(0, 500)),
                    min_size=1, max_size=8)
    step = st.tuples(st.sampled_from(["piwheels", "counts", "pypistats"]), st.integers(0, 2**16), rows)
    return draw(st.lists(step, min_size=1, max_size=5))


def write_step(folder: Path, index: int, step: Step) -> Path:
    kind, seed, rows = step
    if kind == "piwheels":
        return write_piwheels_log(folder / f"{index}.csv", random.Random(seed), 1 + seed % 40)
    if kind == "counts":
        path = folder / f"{index}-{seed}.counts.csv"
        path.write_text("date,package,downloads\n" + "".join(
            f"{date(2020, 3, 1 + day)},{PACKAGES[p]},{n}\n" for day, p, n in rows))
        return path
    package = PACKAGES[rows[0][1]]
    days = {day: n for day, p, n in rows}  # one response: a value per day
    data = [{"category": "without_mirrors", "date": str(date(2020, 3, 1 + day)), "downloads": n}
            for day, n in days.items()]
    path = folder / f"{index}-{seed}.pypistats.json"
    path.write_text(json.dumps({"data": data, "package": package, "type": "overall_downloads"}))
    return path


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(ingest_steps())
def test_any_sequence_of_ingests_keeps_the_totals_exact(steps: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        with open_store(folder / "store.duckdb") as store:
            for index, step in enumerate(steps):
                ingest_file(store, write_step(folder, index, step), source="piwheels")
                assert kept(store) == recounted(store), f"after step {index}: {step}"
