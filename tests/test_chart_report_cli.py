"""``depgraph chart`` and ``depgraph report`` through the command line, on the piwheels 2020-Q1 reconstruction (a
simulation calibrated to the blog's published figures)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from depgraph.cli import CHART_KINDS, cli

SCENARIO = Path(__file__).resolve().parent.parent / "fixtures" / "piwheels-2020q1" / "scenario.json"


@pytest.fixture(scope="module")
def store(reconstruction: tuple[Path, Path, int]) -> Path:
    return reconstruction[1]


def test_the_cli_offers_every_chart_kind() -> None:
    from depgraph.render.charts import KINDS

    assert CHART_KINDS == KINDS


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_each_chart_is_written_as_svg(store: Path, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.svg"
    result = CliRunner().invoke(cli, ["chart", kind, "--date", "2020-03-05", "--db", str(store), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert ET.parse(out).getroot().tag.endswith("svg")


def test_a_chart_with_a_bad_extension_or_date_is_refused(store: Path, tmp_path: Path) -> None:
    bad_suffix = CliRunner().invoke(cli, ["chart", "daily", "--date", "2020-03-05", "--db", str(store),
                                          "-o", str(tmp_path / "x.gif")])
    assert bad_suffix.exit_code == 2 and "x.gif" in bad_suffix.stderr
    bad_date = CliRunner().invoke(cli, ["chart", "daily", "--date", "2020-13-05", "--db", str(store),
                                        "-o", str(tmp_path / "x.svg")])
    assert bad_date.exit_code == 2 and "2020-13-05" in bad_date.stderr
    assert not list(tmp_path.iterdir())


def test_the_report_of_the_day(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["--offline", "report", "--date", "2020-03-05", "--db", str(store), "-o", str(out),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["pictures"]) == 7
    names = {p["name"] for p in json.loads(SCENARIO.read_text())["event"]["packages"]}
    html = (out / "index.html").read_text()
    assert data["package"] in {n.lower() for n in names}
    assert all(name.lower() in html.lower() for name in names)
    assert (out / "report.md").exists()
