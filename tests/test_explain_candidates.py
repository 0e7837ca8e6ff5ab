"""depgraph explain on a store whose release corpus is missing: suspects from ``--candidates`` (read from the
recorded index through the loopback server), from depgraph's metadata cache, and the spiking releases'
dependencies read from the index. The store is the piwheels 2020-Q1 reconstruction (a simulation calibrated to
the blog's published figures) with its release table dropped; expected names come from scenario.json.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result
from packaging.utils import canonicalize_name

from depgraph.cli import cli
from tests.replay import Replay

SCENARIO = Path(__file__).resolve().parent.parent / "fixtures" / "piwheels-2020q1" / "scenario.json"
CASES = Path(__file__).resolve().parent.parent / "fixtures" / "resolve-cases.json"
DAY = "2020-03-05"


def event() -> dict:
    return json.loads(SCENARIO.read_text())["event"]


def recorded_candidates() -> list[str]:
    (case,) = json.loads(CASES.read_text())["candidates"]
    assert case["date"] == DAY
    return case["names"]


@pytest.fixture(scope="module")
def bare_store(reconstruction: tuple[Path, Path, int], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reconstruction's downloads without its release corpus."""
    path = tmp_path_factory.mktemp("bare") / "store.duckdb"
    shutil.copy(reconstruction[1], path)
    with duckdb.connect(str(path)) as connection:
        connection.execute("DROP TABLE releases")
    return path


def explain(store: Path, *args: str, offline: bool = False) -> Result:
    first = canonicalize_name(event()["packages"][0]["name"])
    return CliRunner().invoke(cli, [*(["--offline"] if offline else []), "explain", first, "--date", DAY,
                                    "--db", str(store), "--format", "json", *args])


def test_named_candidates_are_read_from_the_index_and_ranked(bare_store: Path, replay: Replay) -> None:
    result = explain(bare_store, "--candidates", ",".join(recorded_candidates()))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    dependent = event()["dependent"]
    top = data["suspects"][0]
    assert (top["package"], top["version"]) == (canonicalize_name(dependent["name"]), dependent["version"])
    others = {canonicalize_name(s["package"]) for s in data["suspects"]} - {top["package"]}
    assert others, "the other named project's releases are ranked too"
    assert all(s["score"] < top["score"] for s in data["suspects"][1:])
    # the spiking release's dependencies came from the index: its unchanged dependency is counted
    assert data["verdict"] == "orphan-spike"
    assert data["dependencies"], "dependencies read from the index"


def test_cached_metadata_gives_candidates_offline(bare_store: Path, replay: Replay) -> None:
    assert explain(bare_store, "--candidates", recorded_candidates()[0]).exit_code == 0
    offline = explain(bare_store, offline=True)  # no --candidates: the metadata cache remembers the releases read
    assert offline.exit_code == 0, offline.output
    data = json.loads(offline.stdout)
    dependent = event()["dependent"]
    assert (data["suspects"][0]["package"], data["suspects"][0]["version"]) == (
        canonicalize_name(dependent["name"]), dependent["version"])


def test_offline_without_a_cache_notes_what_is_missing(bare_store: Path) -> None:
    result = explain(bare_store, offline=True)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["suspects"] == []
    assert any("--candidates" in note for note in data["notes"])
    assert any("offline, and not in the cache" in note for note in data["notes"])


def test_a_named_candidate_offline_without_a_cache_is_an_error(bare_store: Path) -> None:
    result = explain(bare_store, "--candidates", recorded_candidates()[0], offline=True)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "offline, and not in the cache" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_candidate_name_is_a_usage_error(bare_store: Path) -> None:
    result = explain(bare_store, "--candidates", "not a name!")
    assert result.exit_code == 2
    assert "--candidates 'not a name!'" in result.stderr


def test_index_must_be_one_the_store_has(bare_store: Path) -> None:
    result = explain(bare_store, "--index", "elsewhere")
    assert result.exit_code == 2
    assert "no downloads from index 'elsewhere'" in result.stderr and "piwheels" in result.stderr
    chosen = explain(bare_store, "--index", "piwheels", offline=True)
    assert chosen.exit_code == 0, chosen.output


def test_what_was_read_for_a_past_day_is_kept_and_needs_no_index(bare_store: Path, replay: Replay) -> None:
    names = ",".join(recorded_candidates())
    first = explain(bare_store, "--candidates", names)
    assert first.exit_code == 0, first.output
    cache = Path(os.environ["DEPGRAPH_CACHE_DIR"])
    for path in cache.iterdir():  # the HTTP and metadata caches go: only the kept rows remain
        if path.name != "releases":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    asked = len(replay.requests)
    again = explain(bare_store, "--candidates", names, offline=True)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == json.loads(first.stdout) and len(replay.requests) == asked


def test_rows_are_kept_only_for_days_that_had_ended_when_read(tmp_path: Path) -> None:
    from depgraph.candidates import keep_rows, kept_rows

    row = ("pypi", "demo", "demo", "1.0", datetime(2020, 3, 1, 12), ["six>=1.0"], None, "bdist_wheel",
           "demo-1.0-py3-none-any.whl", "fetched")
    keep_rows("demo-key", [row])
    today = datetime.now(timezone.utc).date()
    assert kept_rows("demo-key", today - timedelta(days=1)) == [row]
    assert kept_rows("demo-key", today) is None  # read before the day ended: files may still come
    assert kept_rows("another-key", today - timedelta(days=1)) is None


def test_a_damaged_kept_file_is_read_again(tmp_path: Path) -> None:
    from depgraph.candidates import kept_rows

    path = Path(os.environ["DEPGRAPH_CACHE_DIR"]) / "releases" / "broken.json"
    path.parent.mkdir(parents=True)
    for text in ("{not json", '{"read_at": "2030-01-01T00:00:00+00:00", "rows": [["too", "short"]]}', "[]",
                 '{"read_at": "2030-01-01T00:00:00+00:00", "rows": [[1, 2, 3, 4, "2020-03-01T00:00:00", 6]]}'):
        path.write_text(text)
        assert kept_rows("broken", date(2020, 3, 5)) is None
