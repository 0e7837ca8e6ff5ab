"""Predicting which index pip fetched a file from, and explaining piwheels' counts as a mix of clients."""

from __future__ import annotations

from datetime import UTC, datetime

from packaging.utils import parse_sdist_filename, parse_wheel_filename

from depgraph.environment import TargetEnvironment
from depgraph.explicit_index import expected_index, explain_index_mix
from depgraph.sources.simple import ReleaseFile

PI_PY27 = TargetEnvironment.create("2.7", "linux_armv7l")


def file(filename: str, index: str) -> ReleaseFile:
    if filename.endswith(".whl"):
        name, version, _, tags = parse_wheel_filename(filename)
        kind = "wheel"
    else:
        (name, version), tags, kind = parse_sdist_filename(filename), frozenset(), "sdist"
    return ReleaseFile(name, version, filename, f"mem://{index}/{filename}", kind, tags, None,
                       datetime(2020, 1, 1, tzinfo=UTC), False, 1, None, False, index)


FILES = {
    "flask-login": [file("Flask-Login-0.4.1.tar.gz", "pypi"),
                    file("Flask_Login-0.4.1-py2.py3-none-any.whl", "piwheels")],
    "markdown": [file("Markdown-3.1.1-py2.py3-none-any.whl", "pypi"),
                 file("Markdown-3.1.1-py2.py3-none-any.whl", "piwheels")],
    "sentry-sdk": [file("sentry_sdk-0.13.2-py2.py3-none-any.whl", "pypi"),
                   file("sentry_sdk-0.13.2-py2.py3-none-any.whl", "piwheels")],
    "semantic-version": [file("semantic_version-2.8.4-py2.py3-none-any.whl", "pypi"),
                         file("semantic_version-2.8.4-py2.py3-none-any.whl", "piwheels")],
}


def test_sdist_only_on_pypi_is_fetched_from_piwheels_by_default() -> None:
    assert expected_index(FILES["flask-login"], "0.4.1", PI_PY27, ("pypi", "piwheels")) == "piwheels"
    assert expected_index(FILES["markdown"], "3.1.1", PI_PY27, ("pypi", "piwheels")) == "pypi"
    assert expected_index(FILES["markdown"], "3.1.1", PI_PY27, ("piwheels",)) == "piwheels"
    py3_only = [file("Demo-1.0-py3-none-any.whl", "piwheels")]
    assert expected_index(py3_only, "1.0", PI_PY27, ("pypi", "piwheels")) is None


def test_counts_are_explained_by_a_share_of_primary_index_clients() -> None:
    observed = {"flask-login": ("0.4.1", 9800), "markdown": ("3.1.1", 4900), "sentry-sdk": ("0.13.2", 5000),
                "semantic-version": ("2.8.4", 4700)}
    result = explain_index_mix(observed, FILES, PI_PY27)
    assert result.likely
    assert result.clients == 9800
    assert result.primary_share is not None and abs(result.primary_share - 4900 / 9800) < 1e-9
    assert all(p.explained for p in result.per_package)


def test_counts_the_model_cannot_explain_are_said_so() -> None:
    observed = {"flask-login": ("0.4.1", 9800), "markdown": ("3.1.1", 4900), "sentry-sdk": ("0.13.2", 300),
                "semantic-version": ("2.8.4", 4700)}
    result = explain_index_mix(observed, FILES, PI_PY27)
    assert not result.likely
    assert "sentry-sdk saw 300" in result.reason
    assert not next(p for p in result.per_package if p.package == "sentry-sdk").explained
