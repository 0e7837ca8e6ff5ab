"""depgraph explain on a store whose release corpus is missing: suspects from ``--candidates`` (read from the
recorded index through the loopback server), from depgraph's metadata cache, and the spiking releases'
dependencies read from the index. The store is the piwheels 2020-Q1 reconstruction (a simulation calibrated to
the blog's published figures) with its release table dropped; expected names come from scenario.json.
"""

from __future__ import annotations

import json
import shutil
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
