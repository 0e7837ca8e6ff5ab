"""The hostile-input corpus (``tests/garbage/``) through ``depgraph``: every file is a case, fed to the commands
its folder names. No input may crash (no traceback, no "internal error"); a rejected input gets exit code 2
(bad input) or 1 (failed work) and one ``depgraph: error:`` line naming it; the store (a copy of a small
ingest) is byte-identical afterwards; nothing that fails before the network reaches it.

Most runs go through click's runner, in process; ``test_a_subprocess_batch`` runs ``python -m depgraph`` itself
on a sample of every folder. ``garbage/expectations.toml`` holds the cases whose right answer differs from their
folder's rule, and the known bugs (``xfail``, strict: fixing one makes its case fail until its entry goes).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import tomllib
from packaging.utils import canonicalize_name
from pytest_httpserver import HTTPServer

from depgraph.downloads.filenames import parse_filename
from depgraph.environment import TargetEnvironment
from depgraph.resolve import applicable_requirements
from depgraph.sources.archives import SdistMetadata
from depgraph.sources.metadata import metadata_from_sdist, parse_metadata_file
from depgraph.sources.simple import parse_distribution_filename
from tests.cli_runs import CRASH_WORDS, assert_clean_failure, run_cli
from tests.fake_index import PAGE_TYPE, FakeIndex, Served, wheel_bytes

GARBAGE = Path(__file__).resolve().parent / "garbage"
LOGS = Path(__file__).resolve().parent / "data" / "logs"
EXPECTATIONS: dict[str, dict[str, object]] = tomllib.loads((GARBAGE / "expectations.toml").read_text("utf-8"))
KNOWN_DAY = "2020-03-05"
KNOWN_PACKAGE = "flask-login"
PAGE_TYPES = {".json": PAGE_TYPE, ".html": "text/html", ".txt": "text/plain"}

# what each folder's inputs are fed to (the commands of one case, named for expectations.toml)
COMMANDS: dict[str, tuple[str, ...]] = {
    "requirements": ("resolve",),
    "markers": ("resolve",),
    "dates": ("resolve", "top", "explain"),
    "dates-outside": ("top", "explain", "spikes", "downloads"),
    "packages": ("resolve", "downloads", "explain"),
    "ingest": ("ingest",),
    "filenames": ("parse", "parse_filename"),
    "pipdeptree": ("graph",),
    "metadata": ("parse", "resolve"),
    "simple-pages": ("resolve",),
    "piwheels-json": ("resolve",),
}


def corpus(kind: str) -> list[Path]:
    return sorted(p for p in (GARBAGE / kind).iterdir() if p.is_file() and not p.name.startswith("."))


def expectation(path: Path, command: str) -> dict[str, object]:
    """The entry of expectations.toml for this case (keys are ``folder/file::command`` glob patterns)."""
    key = f"{path.parent.name}/{path.name}::{command}"
    found: dict[str, object] = {}
    for pattern, entry in EXPECTATIONS.items():
        if fnmatch.fnmatchcase(key, pattern):
            found.update(entry)
    return found


def cases(*kinds: str) -> list[object]:
    params = []
    for kind in kinds:
        for path in corpus(kind):
            for command in COMMANDS[kind]:
                reason = expectation(path, command).get("xfail")
                marks = [pytest.mark.xfail(strict=True, reason=str(reason))] if reason else []
                params.append(pytest.param(path, command, id=f"{kind}/{path.name}::{command}", marks=marks))
    return params


def text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def exits(path: Path, command: str, default: tuple[int, ...]) -> tuple[int, ...]:
    allowed = expectation(path, command).get("exit")
    return tuple(allowed) if isinstance(allowed, list) else default  # type: ignore[arg-type]


def names_input(line: str, *forms: str) -> bool:
    return any(form and form in line for form in forms)


# --- fixtures: a small store, a server that must never be asked, a fake index ------------------------------

@pytest.fixture(scope="module")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("garbage-store") / "store.duckdb"
    result = run_cli("ingest", LOGS / "piwheels-2020-03.csv", LOGS / "counts-2020-03.csv", "--db", path)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def template_counts(store_template: Path) -> dict[str, int]:
    return store_counts(store_template)


@dataclass
class Store:
    path: Path
    digest: str

    def unchanged(self) -> bool:
        return _sha256(self.path) == self.digest and not self.path.with_suffix(".duckdb.wal").exists()


@pytest.fixture
def store(store_template: Path, tmp_path: Path) -> Store:
    path = tmp_path / "store.duckdb"
    shutil.copyfile(store_template, path)
    return Store(path, _sha256(path))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_counts(path: Path) -> dict[str, int]:
    """Rows per table, the record of ingested files aside."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        tables = [row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables "
                                                       "WHERE table_type = 'BASE TABLE'").fetchall()]
        return {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
                for t in tables if t != "ingested_files"}
    finally:
        connection.close()


@pytest.fixture(scope="module")
def untouchable() -> Iterator[HTTPServer]:
    """A server no case may reach: what fails before the network must not get here."""
    server = HTTPServer(host="127.0.0.1")
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def index(httpserver: HTTPServer) -> FakeIndex:
    fake = FakeIndex(httpserver)
    fake.add_wheel("six", "1.0")
    fake.add_wheel("helper", "1.0")
    return fake


# --- arguments: requirements, markers, dates, package names ----------------------------------------------

@pytest.mark.parametrize(("path", "command"), cases("requirements", "markers"))
def test_requirement_arguments(path: Path, command: str, untouchable: HTTPServer) -> None:
    text = text_of(path)
    result = run_cli("resolve", "--index", untouchable.url_for("/simple/"), "--", text)
    line = assert_clean_failure(result, exits(path, command, (2,)))
    assert names_input(line, repr(text)), line
    assert not untouchable.log, "a rejected requirement reached the network"


def date_command(command: str, day: str, store: Store, untouchable: HTTPServer) -> list[str | Path]:
    return {
        "resolve": ["resolve", "demo", "--date", day, "--index", untouchable.url_for("/simple/")],
        "top": ["top", "--date", day, "--db", store.path],
        "explain": ["explain", KNOWN_PACKAGE, "--date", day, "--db", store.path],
        "spikes": ["spikes", "--date", day, "--db", store.path],
        "downloads": ["downloads", KNOWN_PACKAGE, "--from", day, "--to", day, "--db", store.path],
    }[command]


@pytest.mark.parametrize(("path", "command"), cases("dates", "dates-outside"))
def test_date_arguments(path: Path, command: str, store: Store, untouchable: HTTPServer) -> None:
    day = text_of(path)
    result = run_cli(*date_command(command, day, store, untouchable))
    line = assert_clean_failure(result, exits(path, command, (2,) if path.parent.name == "dates" else (1, 2)))
    assert names_input(line, repr(day), day), line
    assert store.unchanged() and not untouchable.log


@pytest.mark.parametrize(("path", "command"), cases("packages"))
def test_package_arguments(path: Path, command: str, store: Store, index: FakeIndex) -> None:
    name = text_of(path)
    valid = parse_distribution_filename(f"{name}-1.0.tar.gz") is not None
    args: list[str | Path] = {
        "resolve": ["resolve", "--index", index.simple_url, "--", name],
        "downloads": ["downloads", "--db", store.path, "--", name],
        "explain": ["explain", "--date", KNOWN_DAY, "--db", store.path, "--", name],
    }[command]
    line = assert_clean_failure(run_cli(*args), exits(path, command, (1, 2) if valid else (2,)))
    assert names_input(line, repr(name), name, canonicalize_name(name) if valid else ""), line
    assert store.unchanged()
    if not valid:
        assert all(request.startswith(("/simple/six/", "/simple/helper/")) for request in index.requests)


# --- files: logs to ingest, pipdeptree output -------------------------------------------------------------

@pytest.mark.parametrize(("path", "command"), cases("ingest"))
def test_ingest_files(path: Path, command: str, store: Store, template_counts: dict[str, int]) -> None:
    """``--strict`` refuses the file; without it, a refusal of the rows is a report of rejected rows instead
    (a file refused before its rows are read is refused the same way in both modes: run once)."""
    line = check_ingest(path, command, store, template_counts, strict=True)
    stored = expectation(path, command).get("rows")
    if stored is not None:  # a log with good rows too: without --strict, they are stored and the bad ones reported
        result = run_cli("ingest", path, "--db", store.path)
        assert result.exit_code == 0 and result.stderr.startswith(f"{path}: {stored} rows"), result.output
    elif line is None or "--strict" in line:
        check_ingest(path, command, store, template_counts, strict=False)


def check_ingest(path: Path, command: str, store: Store, before: dict[str, int], *, strict: bool) -> str | None:
    """Ingest ``path``; returns the error line, or None when it was reported as nothing to store."""
    result = run_cli("ingest", *(["--strict"] if strict else []), path, "--db", store.path)
    assert not any(word in result.output for word in CRASH_WORDS), result.output
    if result.exit_code == 0 and (not strict or 0 in exits(path, command, (2,))):
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"{path}: 0 rows"), result.stderr  # named, and nothing stored
        if strict or "(empty)" in first:
            assert store.unchanged(), "an input with nothing to store changed the store"
        assert store_counts(store.path) == before
        return None
    line = assert_clean_failure(result, exits(path, command, (2,)))
    assert names_input(line, str(path)), line
    assert store.unchanged()
    return line


def test_a_log_with_no_readable_row_is_not_recorded_as_ingested(store: Store) -> None:
    path = GARBAGE / "ingest" / "gen-counts-not-numbers.csv"
    first = run_cli("ingest", path, "--db", store.path)
    assert first.exit_code == 0 and f"{path}: 0 rows (counts), 2 rejected" in first.stderr
    assert store.unchanged()
    assert_clean_failure(run_cli("ingest", "--strict", path, "--db", store.path), (2,), str(path))


@pytest.mark.parametrize(("path", "command"), cases("pipdeptree"))
def test_pipdeptree_files(path: Path, command: str, tmp_path: Path) -> None:
    output = tmp_path / "graph.json"
    line = assert_clean_failure(run_cli("graph", "--pipdeptree", path, "-o", output), exits(path, command, (2,)))
    assert names_input(line, str(path)), line
    assert not output.exists()


# --- what indexes serve: metadata, file names, Simple pages, piwheels JSON ---------------------------------

@pytest.mark.parametrize(("path", "command"), cases("metadata"))
def test_metadata_files(path: Path, command: str, index: FakeIndex) -> None:
    data = path.read_bytes()
    parsed = parse_metadata_file(data, "core-metadata")
    if command == "parse":
        check_parsed_metadata(data, parsed.unknown)
        return
    index.add_file("demo", "demo-1.0-py2.py3-none-any.whl", wheel_bytes("demo", "1.0", data), metadata=data)
    result = run_cli("resolve", "demo", "--index", index.simple_url, "--format", "json", "--python", "3.8")
    assert not any(word in result.output for word in CRASH_WORDS), result.output
    if result.exit_code != 0:
        line = assert_clean_failure(result, exits(path, command, (1,)))
        assert names_input(line, "demo", "no-such-dependency-here"), line
        return
    demo = next(p for p in json.loads(result.stdout)["packages"] if p["name"] == "demo")
    assert demo["unknown"] == parsed.unknown  # garbage is never read as "no dependencies"
    if parsed.unknown:
        assert "demo 1.0: dependencies unknown" in result.stderr
    if b"~= ''" in data:  # a dependency the resolver leaves out is said to be left out
        assert "has a marker that cannot be evaluated; it is left out" in result.stderr


def check_parsed_metadata(data: bytes, unknown: bool) -> None:
    """The parsers never raise on metadata bytes, and what they keep are requirements the resolver can use."""
    target = TargetEnvironment.create("2.7", "linux_armv7l")
    for found in (parse_metadata_file(data, "wheel"), metadata_from_sdist(SdistMetadata(data, None, None)),
                  metadata_from_sdist(SdistMetadata(None, data, data))):
        applicable_requirements(found, frozenset({"x"}), target)
    assert unknown == parse_metadata_file(data, "wheel").unknown


@pytest.mark.parametrize(("path", "command"), cases("filenames"))
def test_filenames(path: Path, command: str) -> None:
    filename = text_of(path)
    if command == "parse":
        assert parse_distribution_filename(filename) is None
    else:
        assert parse_filename(filename)[3] is not None


def lenient_filenames() -> list[object]:
    """The file names ``parse_filename`` is known to accept (expectations.toml), as cases of their own."""
    return [pytest.param(path, id=path.name, marks=pytest.mark.xfail(
        strict=True, reason=str(expectation(path, "parse_filename")["xfail"])))
        for path in corpus("filenames") if expectation(path, "parse_filename").get("xfail")]


def test_a_log_of_bad_filenames_is_rejected_row_by_row(store: Store, tmp_path: Path) -> None:
    """Every other bad name, one row each, in one piwheels log: ``--strict`` refuses it, and without it every
    row is rejected with its line number and nothing is stored."""
    names = [text_of(p) for p in corpus("filenames") if not expectation(p, "parse_filename").get("xfail")]
    log = tmp_path / "piwheels.csv"
    log.write_bytes(piwheels_log_with(*names))
    strict = run_cli("ingest", "--strict", log, "--db", store.path)
    assert "line 2" in assert_clean_failure(strict, (2,), str(log), f"{len(names)} rows cannot be read")
    assert store.unchanged()
    lenient = run_cli("ingest", log, "--db", store.path)
    assert lenient.exit_code == 0 and f"{log}: 0 rows (piwheels), {len(names)} rejected" in lenient.stderr, \
        (lenient.stderr, stored_filenames(store.path))


@pytest.mark.parametrize("path", lenient_filenames())
def test_a_log_row_with_a_filename_packaging_lets_through_is_rejected(path: Path, store: Store, tmp_path: Path
                                                                       ) -> None:
    log = tmp_path / "piwheels.csv"
    log.write_bytes(piwheels_log_with(text_of(path)))
    assert_clean_failure(run_cli("ingest", "--strict", log, "--db", store.path), (2,), str(log), "line 2")
    assert store.unchanged()


def stored_filenames(path: Path) -> list[str]:
    connection = duckdb.connect(str(path), read_only=True)
    try:
        return [row[0] for row in connection.execute("SELECT DISTINCT filename FROM downloads").fetchall()]
    finally:
        connection.close()


def piwheels_log_with(*filenames: str) -> bytes:
    header = ("filename,accessed_by,accessed_at,arch,distro_name,distro_version,os_name,os_version,py_name,"
              "py_version")
    rows = ['"' + name.replace('"', '""') + '",192.0.2.1,2020-03-05 10:00:00,armv7l,Raspbian,10,Linux,5.4,CPython,'
            '3.7.3' for name in filenames]
    return "\n".join([header, *rows, ""]).encode()


def test_a_page_listing_every_bad_filename_resolves_to_the_good_file(index: FakeIndex) -> None:
    for path in corpus("filenames"):
        index.add_entry("demo", {"filename": text_of(path), "url": index.url(f"/bad/{path.name}"), "hashes": {}})
    index.add_wheel("demo", "1.0")
    result = run_cli("resolve", "demo", "--index", index.simple_url, "--format", "json")
    assert result.exit_code == 0, result.output
    assert [p["file"] for p in json.loads(result.stdout)["packages"]] == ["demo-1.0-py2.py3-none-any.whl"]
    assert not [r for r in index.requests if r.startswith("/bad/")]


@pytest.mark.parametrize(("path", "command"), cases("simple-pages", "piwheels-json"))
def test_index_answers(path: Path, command: str, index: FakeIndex) -> None:
    body = path.read_bytes()
    if path.parent.name == "simple-pages":
        index.serve("/simple/demo/", Served(body, PAGE_TYPES.get(path.suffix, "application/octet-stream")))
        args = ["resolve", "demo", "--index", index.simple_url]
    else:
        index.serve("/project/demo/json/", Served(body, "application/json"))
        args = ["resolve", "demo", "--index", "piwheels", "--piwheels-url", index.url("/")]
    line = assert_clean_failure(run_cli(*args), exits(path, command, (1,)))
    assert names_input(line, "demo"), line


# --- the same through python -m depgraph ------------------------------------------------------------------

SUBPROCESS_SAMPLE = 1  # files per folder, taken in name order


def subprocess_cases(store: Store, tmp_path: Path, untouchable: HTTPServer) -> list[tuple[Path, list[str | Path]]]:
    """(input, argv) for a sample of each folder whose commands need neither a fake index nor Python code."""
    builders: dict[str, Callable[[Path], list[str | Path]]] = {
        "requirements": lambda p: ["resolve", "--index", untouchable.url_for("/simple/"), "--", text_of(p)],
        "markers": lambda p: ["resolve", "--index", untouchable.url_for("/simple/"), "--", text_of(p)],
        "dates": lambda p: date_command("top", text_of(p), store, untouchable),
        "packages": lambda p: ["downloads", "--db", store.path, "--", text_of(p)],
        "ingest": lambda p: ["ingest", "--strict", p, "--db", store.path],
        "dates-outside": lambda p: date_command("explain", text_of(p), store, untouchable),
        "pipdeptree": lambda p: ["graph", "--pipdeptree", p, "-o", tmp_path / f"{p.name}.json"],
    }
    chosen = []
    for kind, build in builders.items():
        usable = [p for p in corpus(kind) if "\0" not in p.read_bytes().decode("utf-8", "replace")
                  and not any(expectation(p, c).get("xfail") or expectation(p, c).get("exit")
                              for c in COMMANDS[kind])]
        chosen += [(p, build(p)) for p in usable[:SUBPROCESS_SAMPLE]]
    return chosen


def test_a_subprocess_batch(store: Store, tmp_path: Path, untouchable: HTTPServer) -> None:
    batch = subprocess_cases(store, tmp_path, untouchable)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}

    def run(argv: list[str | Path]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "depgraph", *map(str, argv)], capture_output=True, text=True,
                              env=env, timeout=120, check=False)

    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(run, [argv for _, argv in batch]))
    for (path, _argv), process in zip(batch, done, strict=True):
        assert process.returncode in (1, 2), (path, process.returncode, process.stderr)
        lines = process.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("depgraph: error:"), (path, process.stderr)
        assert not any(word in process.stderr for word in CRASH_WORDS), process.stderr
    assert store.unchanged() and not untouchable.log
    assert len(batch) >= 2 * SUBPROCESS_SAMPLE


def test_the_corpus_is_big_enough_and_generated_as_committed() -> None:
    sys.path.insert(0, str(GARBAGE))
    try:
        import make_corpus
    finally:
        sys.path.remove(str(GARBAGE))
    for kind, build in make_corpus.KINDS.items():
        for name, data in build().items():
            assert (GARBAGE / kind / name).read_bytes() == data, f"{kind}/{name}: rerun make_corpus.py"
    assert sum(len(corpus(kind)) for kind in COMMANDS) >= 200
    assert set(COMMANDS) == {p.name for p in GARBAGE.iterdir() if p.is_dir() and not p.name.startswith("_")}
