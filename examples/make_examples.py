"""Regenerate ``examples/report-2020-03-05/``: depgraph's report of the 5 March 2020 spike, on the bundled
piwheels 2020-Q1 reconstruction (a simulation calibrated to the figures the piwheels blog published, not real
logs).

    .venv/bin/python examples/make_examples.py             # builds the reconstruction's store (about 30 s)
    .venv/bin/python examples/make_examples.py --db PATH   # or reuses a store built by
                                                           # depgraph sample piwheels-2020q1 --ingest --db PATH
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

from depgraph.downloads.corpora import make_sample
from depgraph.downloads.store import open_store
from depgraph.render.report import ReportResult, write_report

CORPUS = "piwheels-2020q1"
DAY = date(2020, 3, 5)
OUT = Path(__file__).resolve().parent / f"report-{DAY.isoformat()}"


def build_store(folder: Path) -> Path:
    """The reconstruction, generated and ingested with its release corpus, as ``depgraph sample --ingest`` does."""
    store = folder / "store.duckdb"
    make_sample(CORPUS, folder / f"{CORPUS}.csv.gz", store_path=store, ingest=True)
    return store


def make_report(store_path: Path, out: Path = OUT) -> ReportResult:
    with open_store(store_path, read_only=True) as store:
        return write_report(store, DAY, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help=f"a store holding the {CORPUS} reconstruction (default: build one)")
    args = parser.parse_args()
    if args.db:
        result = make_report(args.db)
    else:
        with tempfile.TemporaryDirectory() as folder:
            result = make_report(build_store(Path(folder)))
    print(f"wrote {result.out_dir}: {', '.join(result.files)}")


if __name__ == "__main__":
    main()
