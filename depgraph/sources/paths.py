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


def keep(path: Path, text: str) -> None:
    """Write a cache file atomically (a reader sees the old file or the whole new one, never a part); a cache
    that cannot be written only costs the next run time, so failing to write it is not an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.part")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError:
        return
