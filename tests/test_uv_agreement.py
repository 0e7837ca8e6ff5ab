"""depgraph agrees with uv: each case of ``fixtures/uv-cases.json``, resolved from recorded PyPI responses,
gives exactly the pins ``uv pip compile --exclude-newer`` gave for it (``fixtures/uv-expected.json``, written
by ``fixtures/record_uv.py``; the responses are recorded by ``fixtures/record.py``).

A case with a ``known_difference`` documents a disagreement that is a depgraph bug: it is expected to fail
until the bug is fixed (strict, so the fix is noticed), after which the marker goes and the case is recorded
again.
"""

from __future__ import annotations

import json
import sysconfig
from datetime import datetime
from typing import Any

import pytest
from click.testing import CliRunner

from depgraph.cli import cli
from depgraph.environment import parse_cutoff
from tests.replay import FIXTURES, Replay

CASES: list[dict[str, Any]] = json.loads((FIXTURES / "uv-cases.json").read_text(encoding="utf-8"))
EXPECTED: dict[str, dict[str, Any]] = json.loads((FIXTURES / "uv-expected.json").read_text(encoding="utf-8"))


def case_params() -> list[Any]:
    params = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case["known_difference"])] if "known_difference" in case else []
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


def depgraph_pins(case: dict[str, Any]) -> dict[str, str]:
    args = ["resolve", *case["requirements"], "--date", case["date"], "--python", case["python"], "--format", "json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return {p["name"]: p["version"] for p in json.loads(result.stdout)["packages"]}


@pytest.mark.parametrize("case", case_params())
def test_resolution_matches_uv(replay: Replay, case: dict[str, Any]) -> None:
    expected = EXPECTED[case["id"]]
    if expected["platform"] != sysconfig.get_platform():
        pytest.skip(f"uv resolved for {expected['platform']} (markers and wheel tags), not this machine")
    found = depgraph_pins(case)
    uv = expected["pins"]
    differences = {name: {"depgraph": found.get(name), "uv": uv.get(name)}
                   for name in sorted(found.keys() | uv.keys()) if found.get(name) != uv.get(name)}
    assert not differences, f"depgraph and uv {expected['uv_version']} disagree on {case['id']}: {differences}"


def test_uv_pins_are_recorded_for_exactly_these_cases() -> None:
    """uv-expected.json belongs to the current uv-cases.json: same cases, same Python, same cutoff instant."""
    ids = [case["id"] for case in CASES]
    assert len(set(ids)) == len(ids)
    assert set(EXPECTED) == set(ids)
    for case in CASES:
        expected = EXPECTED[case["id"]]
        assert expected["python_version"] == case["python"]
        assert datetime.fromisoformat(expected["exclude_newer"].replace("Z", "+00:00")) == parse_cutoff(case["date"])
        assert expected["pins"], f"uv pinned nothing for {case['id']}"
