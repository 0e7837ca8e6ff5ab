"""``depgraph ingest``, ``downloads`` and ``top`` through click's runner: output shapes, exit codes, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from depgraph.cli import cli
from tests.test_ingest import LOGS, PIWHEELS_FILES, piwheels_recount, write_piwheels_log


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def assert_one_line_error(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("depgraph: error:"), result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return write_piwheels_log(tmp_path / "log.csv.gz", random.Random(42), 400)


@pytest.fixture
def db(tmp_path: Path, log: Path) -> Path:
    path = tmp_path / "store.duckdb"
    result = run("ingest", log, "--db", path)
    assert result.exit_code == 0, result.output
    return path


def test_ingest_reports_rows_and_skips_a_file_seen_before(tmp_path: Path, log: Path) -> None:
    path = tmp_path / "store.duckdb"
    result = run("ingest", log, LOGS / "piwheels-mixed.csv", "--db", path)
    assert result.exit_code == 0, result.output
    counts, bad, _ = piwheels_recount(log)
    mixed_counts, mixed_bad, _ = piwheels_recount(LOGS / "piwheels-mixed.csv")
    assert f"{log}: {sum(counts.values())} rows (piwheels), {len(bad)} rejected" in result.stderr
    assert f"{sum(mixed_counts.values())} rows (piwheels), {len(mixed_bad)} rejected" in result.stderr
    for line in mixed_bad[:5]:
        assert f"  line {line}: " in result.stderr
    again = run("ingest", log, "--db", path)
    assert again.exit_code == 0 and "already ingested, skipped" in again.stderr


def test_ingest_strict_refuses_and_changes_nothing(db: Path) -> None:
    before = json.loads(run("top", "--date", "2020-03-05", "--db", db, "--format", "json").stdout)
    result = run("ingest", "--strict", LOGS / "piwheels-mixed.csv", "--db", db)
    assert_one_line_error(result, 2, "piwheels-mixed.csv", "--strict")
    assert json.loads(run("top", "--date", "2020-03-05", "--db", db, "--format", "json").stdout) == before


def test_downloads_json_shape_order_and_counts(db: Path, log: Path) -> None:
    start, end = date(2020, 3, 1), date(2020, 3, 14)  # the store's days (the CLI refuses days outside them)
    result = run("downloads", "numpy", "Flask_Login", "--from", start, "--to", end, "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["rows"]
    rows = document["rows"]
    assert all(list(row) == ["package", "period", "downloads"] for row in rows)
    counts = piwheels_recount(log)[0]
    periods = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    expected = [{"package": package, "period": day, "downloads": counts.get((package, day), 0)}
                for package in sorted(["numpy", "flask-login"]) for day in periods]
    assert rows == expected


def test_downloads_split_json_carries_the_split_and_sums_to_the_total(db: Path) -> None:
    total = json.loads(run("downloads", "flask-login", "--db", db, "--format", "json").stdout)["rows"]
    split = json.loads(run("downloads", "flask-login", "--split", "python", "--db", db, "--format", "json").stdout)
    rows = split["rows"]
    assert all(list(row) == ["package", "period", "downloads", "python"] for row in rows)
    assert [(r["package"], r["period"]) for r in rows] == sorted((r["package"], r["period"]) for r in rows)
    sums: dict[str, int] = {}
    for row in rows:
        sums[row["period"]] = sums.get(row["period"], 0) + row["downloads"]
    assert sums == {row["period"]: row["downloads"] for row in total}


def test_downloads_csv(db: Path, log: Path) -> None:
    result = run("downloads", "markdown", "--db", db, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    counts = piwheels_recount(log)[0]
    assert {row["period"]: int(row["downloads"]) for row in rows if int(row["downloads"])} == {
        day: n for (package, day), n in counts.items() if package == "markdown"}


def test_top_json(db: Path, log: Path) -> None:
    day = "2020-03-07"
    result = run("top", "--date", day, "-n", "2", "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output
    counts = piwheels_recount(log)[0]
    ranked = sorted(((-n, package) for (package, d), n in counts.items() if d == day))[:2]
    assert json.loads(result.stdout) == {"rows": [{"rank": i + 1, "package": p, "downloads": -n}
                                                  for i, (n, p) in enumerate(ranked)]}


def test_ingest_every_format_in_one_call(tmp_path: Path) -> None:
    files = sorted(p for p in LOGS.iterdir() if p.name != "pypistats-recent.json")
    result = run("ingest", *files, "--db", tmp_path / "store.duckdb")
    assert result.exit_code == 0, result.output
    for path in files:
        assert str(path) in result.stderr


@pytest.mark.parametrize(("args", "code", "words"), [
    (("ingest", "{tmp}/missing.csv"), 2, ("missing.csv", "does not exist")),
    (("ingest", "{logs}/pypistats-recent.json"), 2, ("pypistats-recent.json", "no daily series")),
    (("ingest", "--format", "counts", "{logs}/piwheels-2020-03.csv"), 2, ("looks like a piwheels file",)),
    (("downloads", "flask-login", "--from", "2020-13-01"), 2, ("--from", "2020-13-01", "YYYY-MM-DD")),
    (("downloads", "not a name!"), 2, ("not a name!", "not a valid project name")),
    (("top", "--date", "yesterday"), 2, ("--date", "yesterday")),
    (("downloads", "flask-login", "--from", "2020-03-09", "--to", "2020-03-01"), 2, ("after",)),
], ids=["missing-file", "recent", "wrong-format", "bad-date", "bad-name", "bad-top-date", "reversed"])
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], code: int, words: tuple[str, ...], tmp_path: Path,
                                          db: Path) -> None:
    argv = [arg.format(tmp=tmp_path, logs=LOGS) for arg in args]
    assert_one_line_error(run(*argv, "--db", db), code, *words)


def test_reading_a_missing_store_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run("downloads", "flask-login", "--db", tmp_path / "none.duckdb")
    assert_one_line_error(result, 1, "no download store")
    assert not (tmp_path / "none.duckdb").exists()


def test_a_foreign_store_is_one_line_and_exit_1(tmp_path: Path) -> None:
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a database\n")
    result = run("ingest", PIWHEELS_FILES[0], "--db", foreign)
    assert_one_line_error(result, 1, "not a depgraph download store")
    assert foreign.read_text() == "not a database\n"


def test_a_missing_file_creates_no_store(tmp_path: Path) -> None:
    result = run("ingest", tmp_path / "missing.csv", "--db", tmp_path / "store.duckdb")
    assert_one_line_error(result, 2, "missing.csv", "does not exist")
    assert not (tmp_path / "store.duckdb").exists()


def test_explicit_formats_and_rows_without_lines(tmp_path: Path) -> None:
    parquet = tmp_path / "rows.parquet"
    import duckdb

    connection = duckdb.connect()
    connection.execute(f"""COPY (SELECT * FROM (VALUES ('2020-03-05 10:00:00 UTC', 'flask-login'),
                           (NULL, 'markdown')) t("timestamp", "file_project")) TO '{parquet}' (FORMAT parquet)""")
    connection.close()
    result = run("ingest", "--format", "bigquery", parquet, "--db", tmp_path / "store.duckdb")
    assert result.exit_code == 0, result.output
    assert "  row 2: no timestamp" in result.stderr and "None" not in result.stderr
