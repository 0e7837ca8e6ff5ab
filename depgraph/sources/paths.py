"""Where depgraph keeps its caches (a light module: the warm path imports it without the HTTP stack)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

from depgraph.errors import CacheError

CACHE_DIR_ENV = "DEPGRAPH_CACHE_DIR"


def cache_dir() -> Path:
    """The directory holding depgraph's caches (``DEPGRAPH_CACHE_DIR`` overrides the user cache dir)."""
    return Path(os.environ.get(CACHE_DIR_ENV) or user_cache_dir("depgraph"))


def cache_error(path: Path, exc: BaseException) -> CacheError:
    """The one-line error for a cache file that cannot be used: which file, why, and what to do."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return CacheError(f"the cache {path} cannot be used ({reason})",
                      f"it only holds answers depgraph can fetch again: delete it, or set {CACHE_DIR_ENV}")
