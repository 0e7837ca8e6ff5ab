"""Property: however a piwheels log is cut into files, and in whatever order (some twice) they are ingested, the
store ends up with the counts of ingesting the whole log once."""

from __future__ import annotations

import gzip
import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depgraph.downloads.ingest import ingest_file
from depgraph.downloads.store import open_store
from tests.test_ingest import write_piwheels_log

EVENT = "ts, package, version, file_kind, python, python_full, implementation, arch, os, distro, installer"


def events(path: Path) -> list[tuple[Any, ...]]:
    with open_store(path, read_only=True) as store:
        return sorted(store.query(f"SELECT {EVENT}, count(*) FROM downloads GROUP BY ALL"), key=repr)


@st.composite
def cut_log(draw: st.DrawFn) -> tuple[int, int, list[int], list[int], list[int], list[bool]]:
    """(seed, rows, cut points, ingest order, parts ingested twice, parts gzipped)."""
    seed = draw(st.integers(0, 2**16))
    rows = draw(st.integers(1, 60))
    cuts = sorted(draw(st.sets(st.integers(1, rows - 1), max_size=min(6, rows - 1)))) if rows > 1 else []
    parts = len(cuts) + 1
    order = draw(st.permutations(range(parts)))
    twice = draw(st.lists(st.integers(0, parts - 1), max_size=3))
    zipped = draw(st.lists(st.booleans(), min_size=parts, max_size=parts))
    return seed, rows, cuts, list(order), twice, zipped


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut_log())
def test_any_partition_in_any_order_gives_the_counts_of_the_whole(case: tuple[Any, ...]) -> None:
    seed, rows, cuts, order, twice, zipped = case
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        whole = write_piwheels_log(root / "whole.csv", random.Random(seed), rows)
        header, *lines = whole.read_text().splitlines(keepends=True)
        bounds = [0, *cuts, len(lines)]
        parts = []
        for i in range(len(bounds) - 1):
            data = (header + "".join(lines[bounds[i]:bounds[i + 1]])).encode()
            part = root / f"part{i}"
            part.write_bytes(gzip.compress(data) if zipped[i] else data)
            parts.append(part)
        with open_store(root / "whole.duckdb") as store:
            assert ingest_file(store, whole).rows == rows
        with open_store(root / "parts.duckdb") as store:
            stored, seen = 0, set()
            for index in [*order, *twice]:
                report = ingest_file(store, parts[index])
                assert report.skipped == (index in seen)
                seen.add(index)
                stored += report.rows
            assert stored == rows
        assert events(root / "parts.duckdb") == events(root / "whole.duckdb")
