"""Ingest of every log format, checked against plain-Python recounts of the same files (never against numbers
copied from depgraph's own output)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from packaging.utils import canonicalize_name, is_normalized_name, parse_sdist_filename, parse_wheel_filename

from depgraph.downloads.ingest import (
    PIWHEELS_COLUMNS,
    PIWHEELS_V015_COLUMNS,
    SHOWN_REJECTS,
    check_files,
    detect_format,
    ingest_file,
    ingest_files,
)
from depgraph.downloads.store import Store, open_store
from depgraph.errors import BadInput
from tests.files import csv_as_text_parquet

LOGS = Path(__file__).parent / "data" / "logs"
PIWHEELS_FILES = sorted(LOGS.glob("piwheels-*.csv"))
BIGQUERY_FILES = sorted(LOGS.glob("bigquery-*.jsonl"))
PYPISTATS_SERIES = [LOGS / f"pypistats-{name}.json" for name in ("overall", "python-minor", "python-major", "system")]


# --- plain-Python oracles -------------------------------------------------------------------------------------

def read_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def valid_name(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    name = canonicalize_name(raw.strip())
    return name if is_normalized_name(name) else None


def distribution(filename: str) -> tuple[str, str] | None:
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except ValueError:
        return None
    return str(name), str(version)


def to_utc(text: str) -> datetime | None:
    """A time string as naive UTC: ``... UTC``, ``... +01:00`` (with or without the space) or naive (UTC)."""
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    if len(text) > 6 and text[-6] in "+-" and text[-7] == " ":
        text = text[:-7] + text[-6:]
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def major_minor(version: str | None) -> str | None:
    if not version:
        return None
    parts = version.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and parts[0].isdigit() and parts[1][:1].isdigit() else None


def piwheels_recount(path: Path) -> tuple[Counter[tuple[str, str]], list[int], list[dict[str, str]]]:
    """(downloads per (package, day), the lines of bad rows, the good rows as dicts) of a piwheels CSV."""
    reader = csv.reader(io.StringIO(read_text(path)))
    first = next(reader)
    header = tuple(first) if first[0] == "filename" else None
    columns = header or (PIWHEELS_COLUMNS if len(first) == len(PIWHEELS_COLUMNS) else PIWHEELS_V015_COLUMNS)
    counts: Counter[tuple[str, str]] = Counter()
    bad: list[int] = []
    good: list[dict[str, str]] = []
    rows = _lines(reader) if header else _chain_first(first, reader)
    for line, row in rows:
        if not row:
            continue
        record = dict(zip(columns, row, strict=False))
        parsed = distribution(row[0]) if len(row) == len(columns) else None
        when = to_utc(record["accessed_at"]) if parsed else None
        if parsed is None or when is None:
            bad.append(line)
            continue
        counts[(parsed[0], when.date().isoformat())] += 1
        good.append(record)
    return counts, bad, good


def _chain_first(first: list[str], reader: Any) -> Iterator[tuple[int, list[str]]]:
    yield 1, first
    for row in reader:
        yield reader.line_num, row


def _lines(reader: Any) -> Iterator[tuple[int, list[str]]]:
    for row in reader:
        yield reader.line_num, row


def bigquery_expected(path: Path) -> tuple[list[tuple[Any, ...]], list[int]]:
    """The rows a BigQuery JSON-lines export should give, and the lines of the bad ones, by plain Python."""
    rows, bad = [], []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            bad.append(number)
            continue
        if not isinstance(row, dict):
            bad.append(number)
            continue
        file = row.get("file") or {}
        when = to_utc(row["timestamp"]) if isinstance(row.get("timestamp"), str) else None
        package = valid_name(file.get("project") or row.get("project"))
        if when is None or package is None:
            bad.append(number)
            continue
        details = row.get("details") or {}
        implementation = details.get("implementation") or {}
        python = details.get("python") or implementation.get("version")
        kind = {"bdist_wheel": "wheel", "sdist": "sdist"}.get(file.get("type"), "other") if file.get("type") else None
        rows.append((when, package, file.get("version"), kind, file.get("filename"), major_minor(python), python,
                     implementation.get("name"), details.get("cpu"), (details.get("system") or {}).get("name"),
                     (details.get("distro") or {}).get("name"), (details.get("distro") or {}).get("version"),
                     (details.get("installer") or {}).get("name"), (details.get("installer") or {}).get("version")))
    return rows, bad


STORED_EVENT = ("ts, package, version, file_kind, filename, python, python_full, implementation, arch, os, distro, "
                "distro_version, installer, installer_version")


def stored_events(store: Store) -> list[tuple[Any, ...]]:
    return sorted(store.query(f"SELECT {STORED_EVENT} FROM downloads"), key=repr)


def stored_counts(store: Store) -> Counter[tuple[str, str]]:
    rows = store.query("SELECT package, ts::DATE::VARCHAR, count(*) FROM downloads GROUP BY ALL")
    return Counter({(package, day): count for package, day, count in rows})


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Everything in the store's tables, to show that something left it unchanged."""
    tables = ("downloads", "download_counts", "ingested_files", "depgraph_meta")
    return {table: sorted(store.query(f"SELECT * FROM {table}"), key=repr) for table in tables}


def gzipped(path: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(path.read_bytes()))
    return target


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.duckdb") as opened:
        yield opened


# --- detection ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(LOGS.iterdir()), ids=lambda p: p.name)
def test_format_is_told_by_content_plain_or_gzip_whatever_the_name(path: Path, tmp_path: Path) -> None:
    expected = path.name.split("-")[0]
    assert detect_format(path) == expected
    assert detect_format(gzipped(path, tmp_path / "log.gz")) == expected
    assert detect_format(gzipped(path, tmp_path / "no-extension")) == expected
    renamed = tmp_path / "misleading.parquet"
    shutil.copy(path, renamed)
    assert detect_format(renamed) == expected


def test_headerless_piwheels_csv_is_recognised(tmp_path: Path) -> None:
    for source in PIWHEELS_FILES:
        headerless = tmp_path / source.name
        headerless.write_text("".join(source.read_text().splitlines(keepends=True)[1:]))
        assert detect_format(headerless) == "piwheels"


@pytest.mark.parametrize("content", [b"", b"\n \n", gzip.compress(b"")], ids=["empty", "blank", "gzip-empty"])
def test_empty_file_is_detected_and_changes_nothing(content: bytes, tmp_path: Path, store: Store) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    before = snapshot(store)
    report = ingest_file(store, path)
    assert (report.format, report.rows, report.rejected) == ("empty", 0, 0)
    assert snapshot(store) == before


@pytest.mark.parametrize(("content", "words"), [
    (b"hello, world\nthis is a letter\n", "cannot tell its format"),
    (b'[{"timestamp": "2020-03-05 14:02:11 UTC"}]', "JSON array"),
    (b'{"name": "not a log"}\n', "cannot tell its format"),
], ids=["text", "json-array", "json-other"])
def test_unknown_content_is_refused_with_a_hint(content: bytes, words: str, tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(content)
    with pytest.raises(BadInput) as error:
        detect_format(path)
    assert words in error.value.message and str(path) in error.value.message
    assert error.value.hint


def test_a_duckdb_database_is_not_a_log(tmp_path: Path) -> None:
    database = tmp_path / "other.duckdb"
    duckdb.connect(str(database)).close()
    with pytest.raises(BadInput, match="DuckDB database"):
        detect_format(database)


def test_format_given_must_match_the_content(store: Store) -> None:
    with pytest.raises(BadInput, match="looks like a piwheels file"):
        ingest_file(store, PIWHEELS_FILES[0], "counts")


def test_missing_file_is_refused_before_anything_is_ingested(tmp_path: Path, store: Store) -> None:
    before = snapshot(store)
    with pytest.raises(BadInput, match="does not exist"):
        ingest_files(store, [*PIWHEELS_FILES, tmp_path / "missing.csv"])
    assert snapshot(store) == before
    with pytest.raises(BadInput, match="not a file"):
        check_files([tmp_path])


# --- piwheels -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PIWHEELS_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("variant", ["plain", "gzip", "headerless"])
def test_piwheels_counts_equal_a_python_recount(path: Path, variant: str, tmp_path: Path, store: Store) -> None:
    if variant == "gzip":
        path = gzipped(path, tmp_path / "log")
    elif variant == "headerless":
        headerless = tmp_path / "headerless.csv"
        headerless.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))
        path = headerless
    expected, bad, _good = piwheels_recount(path)
    report = ingest_file(store, path)
    assert report.format == "piwheels"
    assert stored_counts(store) == expected
    assert report.rows == sum(expected.values())
    assert report.rejected == len(bad)
    assert [example.line for example in report.examples] == bad[:SHOWN_REJECTS]
    assert all(example.reason for example in report.examples)


def test_piwheels_fields_and_installer_columns(store: Store) -> None:
    for path in PIWHEELS_FILES:
        ingest_file(store, path)
    expected = []
    for path in PIWHEELS_FILES:
        for row in piwheels_recount(path)[2]:
            name, version = distribution(row["filename"]) or ("", "")
            expected.append((name, version, row["arch"] or None, row["os_name"] or None, row["py_name"] or None,
                             row["py_version"] or None, major_minor(row["py_version"]),
                             row.get("installer_name") or None, row.get("installer_version") or None))
    stored = store.query("SELECT package, version, arch, os, implementation, python_full, python, installer, "
                         "installer_version FROM downloads WHERE source = 'piwheels'")
    assert sorted(stored, key=repr) == sorted(expected, key=repr)


def test_client_address_is_never_stored_only_a_salted_hash(store: Store) -> None:
    for path in PIWHEELS_FILES:
        ingest_file(store, path)
    addresses = {row["accessed_by"] for path in PIWHEELS_FILES for row in piwheels_recount(path)[2]}
    for table, column in store.query("SELECT table_name, column_name FROM information_schema.columns "
                                     "WHERE data_type = 'VARCHAR'"):
        for address in addresses:
            hits = store.query(f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [address])
            assert hits == [(0,)], f"{address} stored in {table}.{column}"
    # one hash per address: clients stay distinguishable
    pairs = set()
    for path in PIWHEELS_FILES:
        for row in piwheels_recount(path)[2]:
            pairs.add((row["accessed_by"], row["accessed_at"]))
    hashes = {row[0] for row in store.query("SELECT DISTINCT client FROM downloads WHERE source = 'piwheels'")}
    assert len(hashes) == len({address for address, _ in pairs})
    unsalted = {hashlib.sha256(address.encode()).hexdigest()[:16] for address in addresses}
    assert not hashes & unsalted


def test_mixed_file_reports_bad_rows_by_line_and_ingests_the_rest(tmp_path: Path, store: Store) -> None:
    good = (PIWHEELS_FILES[1].read_text().splitlines())[1:]
    good = [line for line in good if line and line.count(",") == 12 and distribution(line.split(",")[0])
            and to_utc(line.split(",")[2])]
    bad = ["garbage-without-commas", "Markdown-3.2.1-py2.py3-none-any.whl,192.0.2.1,not a time,,,,,,,,,,",
           "README.txt,192.0.2.1,2020-03-05 10:00:00,,,,,,,,,,", "", "too,few,columns", "   "]
    rng = random.Random(7)
    lines = [",".join(PIWHEELS_COLUMNS)]
    bad_lines = []
    for i in range(60):
        if rng.random() < 0.3:
            text = rng.choice(bad)
            if text:
                bad_lines.append(len(lines) + 1)
            lines.append(text)
        else:
            lines.append(good[i % len(good)])
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n")
    expected, oracle_bad, _ = piwheels_recount(path)
    assert oracle_bad == bad_lines  # the oracle agrees with how the file was built
    report = ingest_file(store, path)
    assert report.rejected == len(bad_lines)
    assert [example.line for example in report.examples] == bad_lines[:SHOWN_REJECTS]
    assert stored_counts(store) == expected
    assert store.query("SELECT count(*) FROM download_events") == [(report.rows,)]


def test_strict_refuses_the_whole_file_and_leaves_the_store_as_it_was(store: Store) -> None:
    ingest_file(store, PIWHEELS_FILES[0])
    before = snapshot(store)
    mixed = LOGS / "piwheels-mixed.csv"
    with pytest.raises(BadInput, match="--strict") as error:
        ingest_file(store, mixed, strict=True)
    assert str(mixed) in error.value.message and "line" in error.value.message
    assert snapshot(store) == before
    # without --strict the same file goes in
    assert ingest_file(store, mixed).rows == sum(piwheels_recount(mixed)[0].values())


@pytest.mark.parametrize("path", [*PIWHEELS_FILES, *BIGQUERY_FILES, *PYPISTATS_SERIES, LOGS / "counts-2020-03.csv"],
                         ids=lambda p: p.name)
def test_reingesting_a_file_changes_nothing(path: Path, tmp_path: Path, store: Store) -> None:
    first = ingest_file(store, path)
    before = snapshot(store)
    again = ingest_file(store, path)
    copy = tmp_path / "renamed-copy"
    shutil.copy(path, copy)
    assert again.skipped and ingest_file(store, copy).skipped
    assert not first.skipped
    assert snapshot(store) == before


def test_source_can_be_named(store: Store) -> None:
    ingest_file(store, PIWHEELS_FILES[0], source="piwheels-mirror")
    assert store.query("SELECT DISTINCT source FROM downloads") == [("piwheels-mirror",)]
    assert store.query("SELECT source FROM ingested_files") == [("piwheels-mirror",)]


def test_times_are_utc_whatever_the_session_time_zone(store: Store) -> None:
    store.connection.execute("SET TimeZone = 'America/New_York'")
    ingest_file(store, BIGQUERY_FILES[0])
    ingest_file(store, PIWHEELS_FILES[0])
    expected = [row[0] for row in bigquery_expected(BIGQUERY_FILES[0])[0]]
    assert sorted(store.query("SELECT ts FROM downloads WHERE source = 'pypi'")) == sorted((t,) for t in expected)
    piwheels_times = [to_utc(row["accessed_at"]) for row in piwheels_recount(PIWHEELS_FILES[0])[2]]
    assert sorted(store.query("SELECT ts FROM downloads WHERE source = 'piwheels'")) == sorted(
        (t,) for t in piwheels_times)


def test_no_temporary_tables_are_left_behind(store: Store) -> None:
    for path in [*PIWHEELS_FILES, *BIGQUERY_FILES, *PYPISTATS_SERIES]:
        ingest_file(store, path)
    leftovers = store.query("SELECT table_name FROM duckdb_tables() WHERE temporary "
                            "AND table_name NOT IN ('reject_errors', 'reject_scans')")
    assert leftovers == []


def test_a_large_generated_log_is_counted_exactly(tmp_path: Path, store: Store) -> None:
    path = write_piwheels_log(tmp_path / "big.csv.gz", random.Random(2020), 20_000, columns=PIWHEELS_COLUMNS)
    expected, bad, _ = piwheels_recount(path)
    report = ingest_file(store, path)
    assert (report.rows, report.rejected) == (sum(expected.values()), len(bad))
    assert stored_counts(store) == expected


def test_the_first_bad_rows_of_a_long_file_are_named_in_file_order(tmp_path: Path, store: Store) -> None:
    """The numbered scan that names the first bad rows stops early: over a plain CSV read in parallel (several
    buffers), with bad rows only far into the file, it must still name the first ones by line."""
    path = write_piwheels_log(tmp_path / "long.csv", random.Random(6), 250_000, columns=PIWHEELS_COLUMNS)
    lines = path.read_text().splitlines()
    bad_lines = [120_001, 130_003, 190_000, 200_500, 240_000, 245_000, 249_000]
    for line in bad_lines:
        lines[line - 1] = lines[line - 1].replace(".whl,", ".txt,", 1)
    path.write_text("\n".join(lines) + "\n")
    report = ingest_file(store, path)
    assert report.rejected == len(bad_lines)
    assert [example.line for example in report.examples] == bad_lines[:SHOWN_REJECTS]
    assert report.rows == len(lines) - 1 - len(bad_lines)


def test_a_user_agent_field_holding_the_key_separator_is_refused_by_line(tmp_path: Path, store: Store) -> None:
    lines = PIWHEELS_FILES[0].read_text().splitlines()
    fields = lines[1].split(",")
    fields[4] = "Raspbian\x1fGNU/Linux"  # distro_name
    path = tmp_path / "separator.csv"
    path.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    report = ingest_file(store, path)
    assert [(e.line, e.reason) for e in report.examples] == [(2, "a user-agent field holds the control character "
                                                                  "U+001F")]
    assert (report.rows, report.rejected) == (len(lines) - 2, 1)
    # the refused row is not stored, not even hidden
    assert store.query("SELECT (SELECT count(*) FROM downloads), (SELECT count(*) FROM download_events)") == [
        (report.rows, report.rows)]

WHEELS = ("Flask_Login-0.5.0-py2.py3-none-any.whl", "Markdown-3.2.1-py2.py3-none-any.whl",
          "sentry_sdk-0.14.2-py2.py3-none-any.whl", "semantic_version-2.8.4-py2.py3-none-any.whl",
          "numpy-1.18.1-cp37-cp37m-linux_armv7l.whl", "Flask-1.1.1-py2.py3-none-any.whl")


def write_piwheels_log(path: Path, rng: random.Random, rows: int, columns: tuple[str, ...] = PIWHEELS_V015_COLUMNS,
                       start: datetime = datetime(2020, 3, 1)) -> Path:
    """A piwheels CSV with ``rows`` rows, each at a distinct second (gzip when the name ends .gz)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    seconds = sorted(rng.sample(range(14 * 86400), rows))
    for second in seconds:
        python = rng.choice(["2.7.16", "3.7.3", "3.5.3", ""])
        values = {"filename": rng.choice(WHEELS), "accessed_by": f"192.0.2.{rng.randrange(256)}",
                  "accessed_at": str(start + timedelta(seconds=second)), "arch": rng.choice(["armv7l", "armv6l"]),
                  "distro_name": "Raspbian GNU/Linux", "distro_version": "10", "os_name": "Linux",
                  "os_version": "4.19.97-v7l+", "py_name": "CPython" if python else "", "py_version": python,
                  "installer_name": "pip", "installer_version": "18.1", "setuptools_version": "40.8.0"}
        writer.writerow([values[column] for column in columns])
    data = buffer.getvalue().encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


# --- BigQuery -------------------------------------------------------------------------------------------------

NESTED_TYPES = {
    "timestamp": "VARCHAR", "country_code": "VARCHAR", "url": "VARCHAR", "project": "VARCHAR",
    "file": "STRUCT(filename VARCHAR, project VARCHAR, version VARCHAR, type VARCHAR)",
    "details": "STRUCT(installer STRUCT(name VARCHAR, version VARCHAR), python VARCHAR, "
               "implementation STRUCT(name VARCHAR, version VARCHAR), distro STRUCT(name VARCHAR, version VARCHAR, "
               "id VARCHAR), system STRUCT(name VARCHAR, release VARCHAR), cpu VARCHAR)",
}
FLAT_PATHS = (("timestamp",), ("country_code",), ("project",), ("file", "filename"), ("file", "project"),
              ("file", "version"), ("file", "type"), ("details", "installer", "name"),
              ("details", "installer", "version"), ("details", "python"), ("details", "implementation", "name"),
              ("details", "implementation", "version"), ("details", "distro", "name"),
              ("details", "distro", "version"), ("details", "system", "name"), ("details", "cpu"))


def flattened_csv(source: Path, target: Path, separator: str) -> Path:
    """The rows of a (valid) BigQuery JSON-lines file as CSV with flattened column names."""
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(separator.join(path) for path in FLAT_PATHS)
        for line in read_text(source).splitlines():
            row = json.loads(line)
            values = []
            for path in FLAT_PATHS:
                value: Any = row
                for key in path:
                    value = value.get(key) if isinstance(value, dict) else None
                values.append("" if value is None else value)
            writer.writerow(values)
    return target


def nested_parquet(source: Path, target: Path) -> Path:
    """The rows of a BigQuery JSON-lines file as nested Parquet with a real TIMESTAMPTZ, as BigQuery exports."""
    normalised = target.with_suffix(".jsonl")
    with normalised.open("w") as handle:
        for line in read_text(source).splitlines():
            row = json.loads(line)
            row["timestamp"] = to_utc(row["timestamp"]).isoformat() + "+00:00"  # type: ignore[union-attr]
            handle.write(json.dumps(row) + "\n")
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in NESTED_TYPES.items()) + "}"
    connection = duckdb.connect()
    connection.execute(f"COPY (SELECT * REPLACE (timestamp::TIMESTAMPTZ AS timestamp) FROM read_json('{normalised}', "
                       f"format = 'newline_delimited', columns = {columns})) TO '{target}' (FORMAT parquet)")
    connection.close()
    return target


def test_bigquery_rows_match_a_python_reading(store: Store) -> None:
    path = BIGQUERY_FILES[0]
    expected, bad = bigquery_expected(path)
    report = ingest_file(store, path)
    assert (report.format, report.rows, report.rejected) == ("bigquery", len(expected), len(bad))
    assert stored_events(store) == sorted(expected, key=repr)
    assert store.query("SELECT DISTINCT source, client FROM downloads") == [("pypi", None)]


def test_bigquery_jsonl_csv_and_parquet_give_identical_rows(tmp_path: Path) -> None:
    path = BIGQUERY_FILES[0]
    underscore = flattened_csv(path, tmp_path / "flat_.csv", "_")
    variants = {
        "jsonl": path,
        "jsonl.gz": gzipped(path, tmp_path / "rows.json.gz"),
        "csv_": underscore,
        "csv.": flattened_csv(path, tmp_path / "flat..csv", "."),
        "csv.gz": gzipped(underscore, tmp_path / "flat.csv.gz"),
        "parquet-nested": nested_parquet(path, tmp_path / "nested.parquet"),
        "parquet-flat": csv_as_text_parquet(underscore, tmp_path / "flat.parquet"),
    }
    results = {}
    for name, variant in variants.items():
        assert detect_format(variant) == "bigquery", name
        with open_store(tmp_path / f"{name}.duckdb") as store:
            report = ingest_file(store, variant)
            assert report.rejected == 0, (name, report.examples)
            results[name] = stored_events(store)
    expected = sorted(bigquery_expected(path)[0], key=repr)
    for name, rows in results.items():
        assert rows == expected, name


def test_bigquery_bad_rows_are_reported_by_line(store: Store) -> None:
    path = LOGS / "bigquery-mixed.jsonl"
    expected, bad = bigquery_expected(path)
    report = ingest_file(store, path)
    assert report.rejected == len(bad) and report.rows == len(expected)
    assert [example.line for example in report.examples] == bad[:SHOWN_REJECTS]
    reasons = " / ".join(example.reason for example in report.examples)
    assert "not valid JSON" in reasons and "no timestamp" in reasons
    assert stored_events(store) == sorted(expected, key=repr)


def built(lines: list[tuple[str, bool]]) -> tuple[str, list[int]]:
    """A file's text from (line, is_bad) pairs, and the numbers of its bad lines."""
    return "\n".join(text for text, _ in lines) + "\n", [i for i, (_, bad) in enumerate(lines, 1) if bad]


def test_bigquery_csv_bad_rows_are_reported_by_line(tmp_path: Path, store: Store) -> None:
    flat = flattened_csv(BIGQUERY_FILES[0], tmp_path / "flat.csv", "_").read_text().splitlines()
    padding = [""] * (flat[0].count(",") - 4)
    text, bad = built([(flat[0], False), (flat[1], False), ("", False),
                       (",".join(["", "GB", "", "x.whl", "flask-login", *padding]), True), (flat[2], False),
                       ("a,b", True), (",".join(["2020-03-05 10:00:00 UTC", "GB", "", "x.whl", "not a name!",
                                                 *padding]), True), (flat[3], False)])
    path = tmp_path / "broken.csv"
    path.write_text(text)
    report = ingest_file(store, path)
    assert [example.line for example in report.examples] == bad
    assert report.rows == 3 and report.rejected == len(bad)


def test_bigquery_parquet_without_its_columns_is_refused(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "other.parquet"
    connection = duckdb.connect()
    connection.execute(f"COPY (SELECT 1 AS a) TO '{path}' (FORMAT parquet)")
    connection.close()
    with pytest.raises(BadInput, match="without BigQuery's timestamp"):
        ingest_file(store, path)


def test_bigquery_parquet_bad_rows_are_reported_by_row(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "rows.parquet"
    connection = duckdb.connect()
    connection.execute(f"""COPY (SELECT * FROM (VALUES ('2020-03-05 10:00:00 UTC', 'flask-login'), (NULL, 'markdown'),
                                 ('2020-03-05 11:00:00 UTC', NULL)) t("timestamp", "file_project"))
                           TO '{path}' (FORMAT parquet)""")
    connection.close()
    report = ingest_file(store, path)
    assert report.rows == 1 and report.rejected == 2
    assert [(e.line, e.reason.split(":")[0]) for e in report.examples] == [(None, "row 2"), (None, "row 3")]


# --- pypistats ------------------------------------------------------------------------------------------------

def pypistats_series(path: Path) -> tuple[str, dict[tuple[str, str | None], int]]:
    document = json.loads(path.read_text())
    series: dict[tuple[str, str | None], int] = {}
    for item in document["data"]:
        if document["type"] == "overall_downloads" and item["category"] != "without_mirrors":
            continue
        value = None if item["category"] in ("null", "without_mirrors") else item["category"]
        series[(item["date"], value)] = series.get((item["date"], value), 0) + item["downloads"]
    return str(canonicalize_name(document["package"])), series


@pytest.mark.parametrize(("path", "breakdown", "column"), [
    (PYPISTATS_SERIES[0], "total", "NULL"), (PYPISTATS_SERIES[1], "python", "python"),
    (PYPISTATS_SERIES[2], "python", "python"), (PYPISTATS_SERIES[3], "os", "os")], ids=lambda v: str(v)[-24:])
def test_pypistats_series_are_stored_as_daily_counts(path: Path, breakdown: str, column: str, store: Store) -> None:
    package, expected = pypistats_series(path)
    report = ingest_file(store, path)
    assert report.rows == len(expected) and report.rejected == 0
    rows = store.query(f"SELECT day::VARCHAR, {column}, downloads FROM download_counts "
                       "WHERE package = ? AND breakdown = ? AND source = 'pypi'", [package, breakdown])
    assert {(day, value): count for day, value, count in rows} == expected


def test_pypistats_overall_keeps_only_downloads_without_mirrors(store: Store) -> None:
    document = json.loads(PYPISTATS_SERIES[0].read_text())
    ingest_file(store, PYPISTATS_SERIES[0])
    without = sum(item["downloads"] for item in document["data"] if item["category"] == "without_mirrors")
    assert store.query("SELECT sum(downloads) FROM download_counts") == [(without,)]


def test_a_newer_pypistats_response_replaces_the_days_it_shares(tmp_path: Path, store: Store) -> None:
    def response(days: range, base: int) -> dict[str, Any]:
        data = [{"category": category, "date": f"2020-03-{day:02d}", "downloads": base + day}
                for category in ("with_mirrors", "without_mirrors") for day in days]
        return {"data": data, "package": "Flask-Login", "type": "overall_downloads"}

    older, newer = response(range(1, 11), 100), response(range(5, 16), 500)
    (tmp_path / "older.json").write_text(json.dumps(older))
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    ingest_file(store, tmp_path / "older.json")
    report = ingest_file(store, tmp_path / "newer.json")
    expected = {item["date"]: item["downloads"] for doc in (older, newer) for item in doc["data"]
                if item["category"] == "without_mirrors"}
    assert report.replaced == len(set(range(1, 11)) & set(range(5, 16)))
    rows = store.query("SELECT day::VARCHAR, sum(downloads) FROM download_counts GROUP BY ALL")
    assert dict(rows) == expected


def test_pypistats_bad_rows_are_rejected_with_their_index(store: Store) -> None:
    path = LOGS / "pypistats-bad-rows.json"
    document = json.loads(path.read_text())
    good = [i for i, item in enumerate(document["data"]) if isinstance(item, dict)
            and item.get("category") in ("with_mirrors", "without_mirrors") and isinstance(item.get("downloads"), int)
            and item["downloads"] >= 0 and to_utc(item["date"]) is not None]
    report = ingest_file(store, path)
    assert report.rejected == len(document["data"]) - len(good)
    assert report.rows == sum(1 for i in good if document["data"][i]["category"] == "without_mirrors")
    bad_indexes = [i for i in range(len(document["data"])) if i not in good]
    assert [e.reason.split("]")[0] for e in report.examples] == [f"data[{i}" for i in bad_indexes][:SHOWN_REJECTS]
    assert all(e.line is None for e in report.examples)


@pytest.mark.parametrize(("document", "words"), [
    ({"data": {"last_day": 1}, "package": "flask-login", "type": "recent_downloads"}, "no daily series"),
    ({"data": [], "package": "flask-login"}, "no 'type'"),
    ({"data": 3, "package": "flask-login", "type": "overall_downloads"}, "is not a list"),
    ({"data": [], "package": "not a name!", "type": "overall_downloads"}, "not a valid project name"),
    ({"data": [], "package": "__all__", "type": "overall_downloads"}, "not a valid project name"),
], ids=["recent", "no-type", "data-not-list", "bad-package", "all"])
def test_pypistats_wrong_shape_is_refused_naming_the_file(document: dict[str, Any], words: str, tmp_path: Path,
                                                          store: Store) -> None:
    path = tmp_path / "response.json"
    path.write_text(json.dumps(document, indent=2))
    before = snapshot(store)
    with pytest.raises(BadInput) as error:
        ingest_file(store, path, "pypistats")
    assert words in error.value.message and str(path) in error.value.message
    assert snapshot(store) == before


@pytest.mark.parametrize("content", ['{"data": [{"category": "x"', '{"data": [], "type": "overall_downloads"}\n{}'],
                         ids=["truncated", "two-documents"])
def test_pypistats_unreadable_json_is_bad_input(content: str, tmp_path: Path, store: Store) -> None:
    path = tmp_path / "response.json"
    path.write_text(content)
    with pytest.raises(BadInput) as error:
        ingest_file(store, path, "pypistats")
    assert str(path) in error.value.message


# --- counts ---------------------------------------------------------------------------------------------------

def test_counts_file_equals_a_python_recount(store: Store) -> None:
    path = LOGS / "counts-2020-03.csv"
    expected: Counter[tuple[str, str]] = Counter()
    with path.open() as handle:
        for row in csv.DictReader(handle):
            expected[(str(canonicalize_name(row["package"])), row["date"])] += int(row["downloads"])
    report = ingest_file(store, path)
    assert report.rows == sum(1 for _ in csv.DictReader(path.open()))
    rows = store.query("SELECT package, day::VARCHAR, sum(downloads) FROM download_counts GROUP BY ALL")
    assert Counter({(package, day): count for package, day, count in rows}) == expected


def test_counts_bad_rows_are_reported_by_line(tmp_path: Path, store: Store) -> None:
    text, bad = built([("date,package,downloads", False), ("2020-03-04,flask-login,3", False),
                       ("2020-13-04,flask-login,3", True), ("", False), ("2020-03-05,not a name!,3", True),
                       ("2020-03-05,markdown,-1", True), ("2020-03-05,markdown,2.5", True),
                       ("2020-03-06,markdown,4", False), ("2020-03-06,markdown", True)])
    path = tmp_path / "counts.csv"
    path.write_text(text)
    report = ingest_file(store, path)
    assert [e.line for e in report.examples] == bad[:SHOWN_REJECTS]
    assert report.rejected == len(bad)
    assert report.rows == store.query("SELECT count(*) FROM download_counts")[0][0] == 2


# --- damaged files --------------------------------------------------------------------------------------------

def test_a_truncated_gzip_is_bad_input_and_changes_nothing(tmp_path: Path, store: Store) -> None:
    whole = write_piwheels_log(tmp_path / "log.csv.gz", random.Random(1), 5000)
    truncated = tmp_path / "truncated.csv.gz"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    before = snapshot(store)
    with pytest.raises(BadInput) as error:
        ingest_file(store, truncated)
    assert str(truncated) in error.value.message
    assert snapshot(store) == before


def test_jsonl_starting_with_a_broken_line_is_still_recognised(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"timestamp": "2020-03-05 10:00:00 UTC", "file": {"proj\n' + BIGQUERY_FILES[0].read_text())
    assert detect_format(path) == "bigquery"
    expected, bad = bigquery_expected(path)
    report = ingest_file(store, path)
    assert (report.rows, [e.line for e in report.examples]) == (len(expected), bad)


def test_invalid_utf8_rows_are_rejected_by_line(tmp_path: Path, store: Store) -> None:
    lines = PIWHEELS_FILES[0].read_bytes().splitlines(keepends=True)
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"".join([*lines[:2], b"Flask_Login-0.5.0-py2.py3-none-any.whl,192.0.2.1,2020-03-05 10:00:00,"
                               b"armv7l,Raspbian \xe9,10,Linux,4.19,CPython,2.7.16\n", *lines[2:]]))
    report = ingest_file(store, path)
    assert report.rejected == 1 and [e.line for e in report.examples] == [3]
    assert report.rows == len(lines) - 1


def test_counts_file_with_a_column_twice_is_bad_input(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "counts.csv"
    path.write_text("date,package,downloads,python,python\n2020-03-04,flask-login,3,2.7,2.7\n")
    with pytest.raises(BadInput, match="'python' twice"):
        ingest_file(store, path)


def test_jsonl_invalid_utf8_lines_are_rejected_and_later_lines_keep_their_numbers(tmp_path: Path,
                                                                                  store: Store) -> None:
    good = BIGQUERY_FILES[0].read_bytes().splitlines()
    rows: list[tuple[bytes, bool]] = [(good[0], False), (b'{"timestamp": "\xff\xfe"}', True), (b"", False),
                                      (good[1], False), (b"{not json", True), (good[2], False), (b"[1, 2]", True)]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\n".join(text for text, _ in rows) + b"\n")
    bad = [i for i, (_, is_bad) in enumerate(rows, 1) if is_bad]
    report = ingest_file(store, path)
    assert [e.line for e in report.examples] == bad
    assert (report.rows, report.rejected) == (3, len(bad))
