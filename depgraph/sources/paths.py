"""Where depgraph keeps its caches (a light module: the warm path imports it without the HTTP stack)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

CACHE_DIR_ENV = "DEPGRAPH_CACHE_DIR"


def cache_dir() -> Path:
    """The directory holding depgraph's caches (``DEPGRAPH_CACHE_DIR`` overrides the user cache dir)."""
    return Path(os.environ.get(CACHE_DIR_ENV) or user_cache_dir("depgraph"))
