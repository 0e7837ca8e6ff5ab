"""depgraph explain and depgraph spikes on the piwheels 2020-Q1 reconstruction (a simulation calibrated to
the blog's published figures, with a release corpus recorded from real metadata).

Expected names come from the scenario file, not from code: the event's dependent release and the packages
it re-pinned.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from depgraph.cli import cli

SCENARIO = Path(__file__).resolve().parent.parent / "fixtures" / "piwheels-2020q1" / "scenario.json"


def event() -> dict:
    return json.loads(SCENARIO.read_text())["event"]


def run(store: Path, *args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--db", str(store), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def store(reconstruction: tuple[Path, Path, int]) -> Path:
    return reconstruction[1]


def repinned() -> dict[str, str]:
    from packaging.utils import canonicalize_name

    return {canonicalize_name(p["name"]): p["version"] for p in event()["packages"]}


def test_the_spike_is_an_orphan_explained_by_the_dependent_release(store: Path) -> None:
    packages = repinned()
    first = sorted(packages)[0]
    data = run(store, "explain", first, "--date", "2020-03-05")
    assert data["verdict"] == "orphan-spike"
    assert sorted(data["cluster"]) == sorted(packages)
    assert data["cluster_versions"] == packages
    suspect = data["suspects"][0]
    dependent = event()["dependent"]
    assert (suspect["package"], suspect["version"]) == (dependent["name"].lower(), dependent["version"])
    assert suspect["evidence"] and all(s["score"] < suspect["score"] for s in data["suspects"][1:])
    index = data["explicit_index"]
    assert index["likely"] and 0 < index["primary_share"] < 1
    assert {p["package"] for p in index["per_package"]} == set(packages)
    assert data["summary"].startswith(f"On 2020-03-05, {first}")


def test_python_2_dominates_and_flask_did_not_follow(store: Path) -> None:
    data = run(store, "explain", "flask-login", "--date", "2020-03-05")
    assert data["signature"]["python"]["2.7"] >= 0.95
    flask = next(d for d in data["dependencies"] if d["package"] == "flask")
    assert flask["count"] == 16
    assert [d["package"] for d in data["dependencies_not_following"]] == ["flask"]


def test_quiet_days_and_packages(store: Path) -> None:
    assert run(store, "explain", "flask-login", "--date", "2020-03-03")["verdict"] == "no-spike"
    assert run(store, "explain", "pycparser", "--date", "2020-03-05")["verdict"] == "no-spike"


def test_spikes_lists_exactly_the_cluster(store: Path) -> None:
    data = run(store, "spikes", "--date", "2020-03-05")
    assert sorted(row["package"] for row in data["spikes"]) == sorted(repinned())
    assert {row["verdict"] for row in data["spikes"]} == {"orphan-spike"}
    assert sorted(data["clusters"][0]["packages"]) == sorted(repinned())


def test_the_diagram_shows_the_cluster_and_the_suspect(store: Path, tmp_path: Path) -> None:
    import shutil
    import xml.etree.ElementTree as ET

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (the README's setup installs it)")
    packages = repinned()
    first = sorted(packages)[0]
    for suffix in (".svg", ".mmd"):
        out = tmp_path / f"spike{suffix}"
        result = CliRunner().invoke(cli, ["explain", first, "--date", "2020-03-05", "--db", str(store),
                                          "--diagram", str(out)])
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        if suffix == ".svg":
            text = " ".join(t.text or "" for t in ET.fromstring(text).iter("{http://www.w3.org/2000/svg}text"))
        assert all(name in text for name in packages)
        assert event()["dependent"]["name"].lower() in text
    refused = CliRunner().invoke(cli, ["explain", first, "--date", "2020-03-05", "--db", str(store),
                                       "--diagram", str(tmp_path / "spike.gif")])
    assert refused.exit_code == 2 and "spike.gif" in refused.stderr


@pytest.mark.parametrize(("args", "needle"), [
    (["explain", "flask-login", "--date", "2030-01-01"], "--date 2030-01-01 is outside the store's downloads"),
    (["explain", "no-such-package", "--date", "2020-03-05"], "no downloads of 'no-such-package'"),
    (["explain", "flask-login", "--date", "2020-02-30"], "--date '2020-02-30' is not a date"),
    (["spikes", "--from", "2030-01-01", "--to", "2030-01-02"], "outside the store's downloads"),
    (["spikes", "--from", "2020-03-05", "--to", "2020-03-01"], "after --to"),
    (["explain", "flask-login", "--date", "2020-03-05", "--index", "pypi"], "no downloads from index 'pypi'"),
])
def test_bad_days_names_and_indexes_are_one_line_usage_errors(store: Path, args: list[str], needle: str) -> None:
    result = CliRunner().invoke(cli, [*args, "--db", str(store)])
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_a_day_without_spikes_says_so(store: Path) -> None:
    result = CliRunner().invoke(cli, ["spikes", "--date", "2020-03-03", "--db", str(store)])
    assert result.exit_code == 0
    assert result.stderr.strip().splitlines()[-1] == "no package spiked on 2020-03-03" and result.stdout == ""


def test_outputs_on_the_reconstruction_say_it_is_one(store: Path) -> None:
    explained = run(store, "explain", event()["packages"][0]["name"], "--date", "2020-03-05")
    scanned = json.loads(CliRunner().invoke(cli, ["spikes", "--date", "2020-03-05", "--db", str(store),
                                                  "--format", "json"]).stdout)
    quiet = CliRunner().invoke(cli, ["spikes", "--date", "2020-03-03", "--db", str(store)])
    for notes in (explained["notes"], scanned["notes"], quiet.stderr.splitlines()):
        assert any("piwheels-2020q1" in note and "reconstruction" in note for note in notes), notes


def test_graph_with_downloads_labels_each_package_with_the_day(store: Path, replay, tmp_path: Path) -> None:
    dependent = event()["dependent"]
    out = tmp_path / "graph.dot"
    result = CliRunner().invoke(cli, ["graph", f"{dependent['name']}=={dependent['version']}", "--date", "2020-03-05",
                                      "--python", "2.7", "--platform", "linux_armv7l", "--downloads",
                                      "--db", str(store), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    counts = {row["package"]: row["count"] for row in run(store, "spikes", "--date", "2020-03-05")["spikes"]}
    assert all(f"{count:,} / baseline" in text for count in counts.values())
    assert "did not follow" in text
    missing_date = CliRunner().invoke(cli, ["graph", "flask", "--downloads", "--db", str(store), "-o", str(out)])
    assert missing_date.exit_code == 2 and "--downloads needs --date" in missing_date.stderr
