"""Index base URLs: defaults, settings (flag > environment variable > default) and pip's configuration."""

from __future__ import annotations

import configparser
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from depgraph.errors import BadInput

PYPI_SIMPLE_ENV = "DEPGRAPH_PYPI_URL"
PIWHEELS_ENV = "DEPGRAPH_PIWHEELS_URL"
DEFAULT_PIWHEELS_URL = "https://www.piwheels.org/"


def pypi_simple_url(override: str | None = None) -> str:
    """PyPI's Simple API base (``.../simple/``); the default is pypi-simple's ``PYPI_SIMPLE_ENDPOINT``."""
    if override or os.environ.get(PYPI_SIMPLE_ENV):
        return _with_slash(override or os.environ[PYPI_SIMPLE_ENV])
    from pypi_simple import PYPI_SIMPLE_ENDPOINT  # imported here: it pulls in requests and bs4

    return _with_slash(PYPI_SIMPLE_ENDPOINT)


def pypi_json_url(simple_url: str) -> str:
    """PyPI's JSON API base (``.../pypi/``): the sibling of the Simple API's ``simple/`` folder."""
    base = simple_url.rstrip("/")
    root = base.removesuffix("/simple") if base.endswith("/simple") else urljoin(simple_url, "/").rstrip("/")
    return root + "/pypi/"


def piwheels_url(override: str | None = None) -> str:
    """piwheels' site root; its Simple index is ``simple/`` and its JSON API ``project/<name>/json/``."""
    return _with_slash(override or os.environ.get(PIWHEELS_ENV) or DEFAULT_PIWHEELS_URL)


def _with_slash(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.scheme == "file"):
        raise BadInput(f"index URL {url!r} is not an http(s) URL", "give e.g. https://host/simple/")
    return url if url.endswith("/") else url + "/"


@dataclass(frozen=True)
class PipIndexConfig:
    """The indexes pip would use: ``index_url`` first, then each extra, in order."""

    index_url: str | None
    extra_index_urls: tuple[str, ...]
    sources: tuple[str, ...]  # the files and variables that set them, for the user to see


def pip_config_files() -> list[Path]:
    """pip's configuration files in the order pip reads them (later ones win)."""
    env_file = os.environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs] + [Path("/etc/pip.conf")]
    home = Path.home()
    xdg_home = Path(os.environ.get("XDG_CONFIG_HOME", home / ".config"))
    files += [home / ".pip" / "pip.conf", xdg_home / "pip" / "pip.conf"]
    if sys.prefix != sys.base_prefix:
        files.append(Path(sys.prefix) / "pip.conf")
    if env_file:
        files.append(Path(env_file))
    return files


def read_pip_index_config(files: list[Path] | None = None) -> PipIndexConfig:
    """Read ``index-url``/``extra-index-url`` as pip does: ``[global]`` then ``[install]``, then env vars."""
    index_url: str | None = None
    extras: list[str] = []
    sources: list[str] = []
    for path in pip_config_files() if files is None else files:
        parser = configparser.RawConfigParser()
        try:
            if not parser.read(path, encoding="utf-8"):
                continue
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise BadInput(f"pip configuration {path} cannot be read: {exc}", "fix or remove the file") from exc
        for section in ("global", "install"):
            if parser.has_option(section, "index-url"):
                index_url = parser.get(section, "index-url").strip()
                sources.append(f"{path} [{section}] index-url")
            if parser.has_option(section, "extra-index-url"):
                extras = parser.get(section, "extra-index-url").split()
                sources.append(f"{path} [{section}] extra-index-url")
    if os.environ.get("PIP_INDEX_URL"):
        index_url = os.environ["PIP_INDEX_URL"].strip()
        sources.append("PIP_INDEX_URL")
    if os.environ.get("PIP_EXTRA_INDEX_URL"):
        extras = os.environ["PIP_EXTRA_INDEX_URL"].split()
        sources.append("PIP_EXTRA_INDEX_URL")
    return PipIndexConfig(index_url, tuple(extras), tuple(sources))


def select_indexes(specs: list[str], pypi_url: str | None = None, piwheels: str | None = None) -> list[tuple[str, str]]:
    """``(name, simple_url)`` for each ``--index``: ``pypi``, ``piwheels``, ``pip`` (pip's configuration) or a URL."""
    chosen: list[tuple[str, str]] = []
    for spec in specs or ["pypi"]:
        if spec == "pypi":
            chosen.append(("pypi", pypi_simple_url(pypi_url)))
        elif spec == "piwheels":
            chosen.append(("piwheels", urljoin(piwheels_url(piwheels), "simple/")))
        elif spec == "pip":
            config = read_pip_index_config()
            urls = [config.index_url or pypi_simple_url(pypi_url), *config.extra_index_urls]
            chosen.extend((_index_name(url, pypi_url, piwheels), _with_slash(url)) for url in urls)
        else:
            chosen.append((spec, _with_slash(spec)))
    return list(dict.fromkeys(chosen))


def _index_name(url: str, pypi_url: str | None, piwheels: str | None) -> str:
    url = _with_slash(url)
    if url == pypi_simple_url(pypi_url):
        return "pypi"
    if url == urljoin(piwheels_url(piwheels), "simple/"):
        return "piwheels"
    return url
