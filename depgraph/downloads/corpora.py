"""The reconstructed corpora shipped in the checkout's ``fixtures/`` (a scenario each), by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depgraph.errors import BadInput

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RELEASES_FILE = "releases.jsonl.gz"


def available() -> list[str]:
    return sorted(p.parent.name for p in FIXTURES.glob("*/scenario.json"))


RECONSTRUCTION_NOTE = "a reconstruction calibrated to published figures, not real logs"


def reconstructed(store: Any) -> list[str]:
    """The shipped corpora the store's downloads came from (told by the ingested files' names), so that every
    output built on them can say they are a reconstruction."""
    corpora = set(available())
    names = {row[0].split(".")[0] for row in store.query("SELECT name FROM ingested_files WHERE format <> 'releases'")}
    return sorted(names & corpora)


def reconstruction_note(store: Any) -> str | None:
    """One line saying the downloads are a reconstruction, or None when they are not."""
    found = reconstructed(store)
    return f"the downloads are {', '.join(found)}: {RECONSTRUCTION_NOTE}" if found else None


def scenario_path(name: str) -> Path:
    """The scenario file of corpus ``name`` (e.g. ``piwheels-2020q1``)."""
    path = FIXTURES / name / "scenario.json"
    if not path.is_file():
        known = ", ".join(available()) or "none (run depgraph from a checkout of its repository)"
        raise BadInput(f"no corpus named {name!r}", f"known corpora: {known}")
    return path


def releases_path(name: str) -> Path | None:
    """The release-metadata corpus shipped with corpus ``name`` (``releases.jsonl.gz``: rows shaped like BigQuery's
    ``distribution_metadata``, recorded from real metadata), or None when it has none."""
    path = scenario_path(name).parent / RELEASES_FILE
    return path if path.is_file() else None


@dataclass(frozen=True)
class SampleResult:
    """The generated log, and what ingesting it (and the corpus's release metadata, when it ships one) gave."""

    generation: Any  # sample.GenerationReport
    ingest: Any | None  # ingest.IngestReport
    releases: Any | None = None  # ingest.IngestReport of releases.jsonl.gz

    def to_dict(self) -> dict[str, Any]:
        return {"generation": self.generation.to_dict(), "ingest": self.ingest.to_dict() if self.ingest else None,
                "releases": self.releases.to_dict() if self.releases else None}


def make_sample(name: str, output: Path, seed: int | None = None, store_path: Path | None = None,
                ingest: bool = False) -> SampleResult:
    """Generate corpus ``name`` into ``output``; with ``ingest``, ingest it into the store too, and the corpus's
    release metadata (``fixtures/<name>/releases.jsonl.gz``) when it ships one."""
    from depgraph.downloads.sample import generate

    generation = generate(scenario_path(name), output, seed)
    if not ingest:
        return SampleResult(generation, None)
    from depgraph.downloads.ingest import ingest_file
    from depgraph.downloads.store import open_store

    releases = releases_path(name)
    with open_store(store_path) as store:
        log = ingest_file(store, output)
        return SampleResult(generation, log, ingest_file(store, releases) if releases else None)
