"""The reconstructed corpora shipped in the checkout's ``fixtures/`` (a scenario each), by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depgraph.errors import BadInput

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def available() -> list[str]:
    return sorted(p.parent.name for p in FIXTURES.glob("*/scenario.json"))


def scenario_path(name: str) -> Path:
    """The scenario file of corpus ``name`` (e.g. ``piwheels-2020q1``)."""
    path = FIXTURES / name / "scenario.json"
    if not path.is_file():
        known = ", ".join(available()) or "none (run depgraph from a checkout of its repository)"
        raise BadInput(f"no corpus named {name!r}", f"known corpora: {known}")
    return path


@dataclass(frozen=True)
class SampleResult:
    """The generated log, and what ingesting it gave (when asked)."""

    generation: Any  # sample.GenerationReport
    ingest: Any | None  # ingest.IngestReport

    def to_dict(self) -> dict[str, Any]:
        return {"generation": self.generation.to_dict(), "ingest": self.ingest.to_dict() if self.ingest else None}


def make_sample(name: str, output: Path, seed: int | None = None, store_path: Path | None = None,
                ingest: bool = False) -> SampleResult:
    """Generate corpus ``name`` into ``output``; with ``ingest``, ingest it into the store too."""
    from depgraph.downloads.sample import generate

    generation = generate(scenario_path(name), output, seed)
    if not ingest:
        return SampleResult(generation, None)
    from depgraph.downloads.ingest import ingest_file
    from depgraph.downloads.store import open_store

    with open_store(store_path) as store:
        return SampleResult(generation, ingest_file(store, output))
