"""Index settings: defaults, overrides and pip's own configuration (a Raspberry Pi's piwheels extra index)."""

from __future__ import annotations

from pathlib import Path

import pytest

from depgraph.errors import BadInput
from depgraph.sources.indexes import (
    piwheels_url,
    pypi_json_url,
    pypi_simple_url,
    read_pip_index_config,
    select_indexes,
)

PIWHEELS_SIMPLE = piwheels_url() + "simple"  # depgraph's default, as Raspberry Pi OS configures it
RASPBIAN_PIP_CONF = f"[global]\nextra-index-url={PIWHEELS_SIMPLE}\n"


def test_pypi_default_comes_from_pypi_simple() -> None:
    from pypi_simple import PYPI_SIMPLE_ENDPOINT

    assert pypi_simple_url() == PYPI_SIMPLE_ENDPOINT
    assert pypi_json_url(pypi_simple_url()).endswith("/pypi/")
    assert pypi_json_url("http://127.0.0.1:9/_pypi/simple/") == "http://127.0.0.1:9/_pypi/pypi/"


def test_environment_variables_and_flags_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPGRAPH_PYPI_URL", "http://mirror.test/simple")
    assert pypi_simple_url() == "http://mirror.test/simple/"
    assert pypi_simple_url("http://flag.test/simple/") == "http://flag.test/simple/"
    monkeypatch.setenv("DEPGRAPH_PIWHEELS_URL", "http://pi.test")
    assert piwheels_url() == "http://pi.test/"


def test_raspbian_pip_conf_puts_piwheels_second(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(RASPBIAN_PIP_CONF)
    config = read_pip_index_config([conf])
    assert config.index_url is None
    assert config.extra_index_urls == (PIWHEELS_SIMPLE,)


def test_select_pip_names_the_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", pypi_simple_url())
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", PIWHEELS_SIMPLE)
    assert [name for name, _url in select_indexes(["pip"])] == ["pypi", "piwheels"]


def test_environment_variables_beat_pip_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = http://a.test/simple\n[install]\nextra-index-url = http://b.test/simple\n")
    monkeypatch.setenv("PIP_INDEX_URL", "http://c.test/simple")
    config = read_pip_index_config([conf])
    assert config.index_url == "http://c.test/simple"
    assert config.extra_index_urls == ("http://b.test/simple",)


def test_broken_pip_conf_is_bad_input(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global\nindex-url\n")
    with pytest.raises(BadInput, match=r"pip\.conf"):
        read_pip_index_config([conf])


def test_select_named_and_url_indexes() -> None:
    chosen = select_indexes(["pypi", "piwheels", "http://mirror.test/simple"])
    assert [name for name, _ in chosen] == ["pypi", "piwheels", "http://mirror.test/simple"]
    assert chosen[1][1].endswith("/simple/")
