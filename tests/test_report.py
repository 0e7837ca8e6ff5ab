"""The HTML and Markdown report: on the reconstruction (7 pictures, the cluster of the scenario, the data-source
note), escaped for hostile text, and written atomically."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

import depgraph.render.report as report_module
from depgraph.downloads.ingest import ingest_file
from depgraph.downloads.store import Store, open_store
from depgraph.render.charts import RECONSTRUCTION_NOTE, ClusterData, Group, draw_cluster, figure_bytes
from depgraph.render.report import (
    Bullets,
    Heading,
    Paragraph,
    Picture,
    ReportResult,
    Table,
    html_document,
    inline_svg,
    markdown_document,
    md_escape,
    write_report,
)

DAY = date(2020, 3, 5)
SCENARIO = Path(__file__).parents[1] / "fixtures" / "piwheels-2020q1" / "scenario.json"
HOSTILE = 'a"b<script>alert(1)</script>[x](y)*_`|'
PIWHEELS_HEADER = ("filename", "accessed_by", "accessed_at", "arch", "distro_name", "distro_version", "os_name",
                   "os_version", "py_name", "py_version")


class Tags(HTMLParser):
    """Every start tag of an HTML document, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def start_tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(text)
    return parser.tags


def scenario_cluster() -> set[str]:
    event = json.loads(SCENARIO.read_text())["event"]
    return {canonicalize_name(p["name"]) for p in event["packages"]}


def scenario_release() -> str:
    """The release whose upgrade the reconstruction simulates, as the report names it."""
    dependent = json.loads(SCENARIO.read_text())["event"]["dependent"]
    return f"{canonicalize_name(dependent['name'])} {dependent['version']}"


@pytest.fixture(scope="module")
def built(reconstruction: tuple[Path, Path, int], tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    with open_store(reconstruction[1], read_only=True) as store:
        return write_report(store, DAY, tmp_path_factory.mktemp("report") / "out")


def test_both_files_and_seven_pictures(built: ReportResult) -> None:
    out = built.out_dir
    assert built.package == "flask-login" and built.verdict == "orphan-spike"  # the largest excess of the day
    assert {"index.html", "report.md"} <= set(built.files)
    assert len(built.pictures) == 7 and all((out / p).is_file() for p in built.pictures)
    for picture in built.pictures:
        ET.parse(out / picture)  # every picture beside the Markdown is valid SVG
    markdown = (out / "report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert images == list(built.pictures)
    text = (out / "index.html").read_text()
    tags = start_tags(text)
    assert sum(1 for tag, _ in tags if tag == "figure") == 7
    assert not [t for t, _ in tags if t in ("img", "script", "link", "iframe", "object")]
    urls = [v for _, attrs in tags for k, v in attrs.items() if k in ("src", "href", "xlink:href") and v]
    assert all(v.startswith("#") for v in urls), "the HTML must not load anything"
    ids = [attrs["id"] for _, attrs in tags if attrs.get("id")]
    assert len(ids) == len(set(ids)), "ids of the inline pictures collide"
    assert built.to_dict()["files"] == list(built.files)


def test_the_cluster_the_suspect_and_the_note_are_in_both(built: ReportResult) -> None:
    text = (built.out_dir / "index.html").read_text()
    markdown = (built.out_dir / "report.md").read_text()
    for document in (text, markdown):
        for name in scenario_cluster():
            assert name in document
        assert RECONSTRUCTION_NOTE in document
        assert scenario_release() in document  # the first suspect, ranked from the release corpus
        assert "Which index served them" in document and "9,652" in document
    assert RECONSTRUCTION_NOTE in built.note


# --- a tiny store of our own -----------------------------------------------------------------------------------

def tiny_log(path: Path, spike: int = 120) -> Path:
    """A piwheels CSV: ``tiny-pkg`` 3 downloads a day from 2020-02-01, then ``spike`` on 2020-03-02; ``other`` 5 a
    day. The distro name is hostile too."""
    start = datetime(2020, 2, 1, 12)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PIWHEELS_HEADER)
        for offset in range(31):
            when = start + timedelta(days=offset)
            count = spike if offset == 30 else 3
            rows = [("tiny_pkg-1.0-py2.py3-none-any.whl", count), ("other-2.0-py3-none-any.whl", 5)]
            for filename, n in rows:
                for i in range(n):
                    writer.writerow((filename, f"192.0.2.{i % 250}", (when + timedelta(seconds=i)).isoformat(" "),
                                     "armv7l", HOSTILE, "10", "Linux", "5.4", "CPython", "3.7.3"))
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[Store]:
    log = tiny_log(tmp_path / 'log"<b>[1].csv')
    with open_store(tmp_path / "tiny.duckdb") as store:
        ingest_file(store, log, source=HOSTILE)
        yield store


def test_hostile_text_from_the_store_is_escaped(tiny: Store, tmp_path: Path) -> None:
    result = write_report(tiny, date(2020, 3, 2), tmp_path / "out")
    assert result.package == "tiny-pkg" and HOSTILE in result.note
    text = (tmp_path / "out" / "index.html").read_text()
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "<script" not in text and "<b>" not in text and "&lt;script&gt;" in text
    assert "<script" not in markdown and "<b>" not in markdown and "&lt;script&gt;" in markdown
    assert md_escape(HOSTILE) in markdown and "log\"&lt;b&gt;\\[1\\].csv" in markdown
    assert not [t for t, _ in start_tags(text) if t == "script"]
    for picture in result.pictures:
        ET.parse(tmp_path / "out" / picture)


def test_hostile_package_names_cannot_break_out() -> None:
    group = Group((HOSTILE, "b"), True)
    chart = draw_cluster(ClusterData(group, {p: [("2020-03-01", 1), ("2020-03-02", 2)] for p in group.packages}))
    svg = inline_svg(figure_bytes(chart, "svg"), "f1-")
    blocks = [Heading(HOSTILE), Paragraph(HOSTILE, lead=HOSTILE), Table((HOSTILE, "n"), ((HOSTILE, "1"),), (1,)),
              Bullets((HOSTILE,)), Picture("cluster", "images/cluster.svg", HOSTILE, HOSTILE, svg)]
    text = html_document(HOSTILE, blocks)
    assert "<script" not in text and "alert(1)</script>" not in text
    assert [t for t, _ in start_tags(text)].count("svg") == 1
    assert text.count("a&quot;b&lt;script&gt;") >= 6
    markdown = markdown_document(HOSTILE, blocks)
    assert "<script" not in markdown and "](y)" not in markdown and "[x]" not in markdown
    assert markdown.count(md_escape(HOSTILE)) >= 6
    table_line = next(line for line in markdown.splitlines() if line.startswith("| a"))
    assert len(re.findall(r"(?<!\\)\|", table_line)) == 3  # the | in the name is escaped: still two cells


def test_inline_svg_drops_what_could_run_and_prefixes_ids() -> None:
    svg = (b'<?xml version="1.0"?><!-- <script>x</script> --><svg xmlns="http://www.w3.org/2000/svg" '
           b'xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)"><script>alert(2)</script>'
           b'<defs><path id="p1" d="M0 0"/></defs><use xlink:href="#p1"/><a xlink:href="https://example.org/">'
           b'<rect clip-path="url(#p1)" width="1" height="1"/></a><text>&lt;script&gt;</text></svg>')
    inline = inline_svg(svg, "f3-")
    assert "onload" not in inline and "alert" not in inline and "example.org" not in inline
    assert 'id="f3-p1"' in inline and 'href="#f3-p1"' in inline and "url(#f3-p1)" in inline
    assert "&lt;script&gt;" in inline and not inline.startswith("<?xml")


# --- atomic --------------------------------------------------------------------------------------------------------

def test_a_failure_leaves_no_half_report(tiny: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "reports" / "day"

    def broken(*_args: object) -> str:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(report_module, "html_document", broken)
        with pytest.raises(RuntimeError):
            write_report(tiny, date(2020, 2, 20), out)
    assert list((tmp_path / "reports").iterdir()) == []  # neither the report nor its temporary directory
    first = write_report(tiny, date(2020, 3, 2), out)
    before = {name: (out / name).read_bytes() for name in first.files}
    with monkeypatch.context() as patch:
        patch.setattr(report_module, "markdown_document", broken)
        with pytest.raises(RuntimeError):
            write_report(tiny, date(2020, 3, 1), out)
    assert {name: (out / name).read_bytes() for name in first.files} == before
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["day"]
    quiet = write_report(tiny, date(2020, 2, 20), out)  # nothing spiked: the index charts only
    assert quiet.package is None and len(quiet.pictures) == 3
    assert sorted(p.name for p in (out / "images").iterdir()) == ["daily.svg", "hourly.svg", "top.svg"]
    assert "No package spiked" in (out / "report.md").read_text()
