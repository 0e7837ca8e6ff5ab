"""The report of a day's spike: ``index.html`` (self-contained: every picture inline as SVG, no script, nothing
fetched) and ``report.md`` with its pictures beside it in ``images/``.

The content is built once, as a list of blocks (headings, paragraphs, tables, lists, pictures) holding plain
text; two small renderers escape every piece of it for their format (``html.escape``; Markdown punctuation
backslash-escaped, ``<>&`` as entities). Inline SVG is parsed and written again, so no text in it can become
markup, and its ids are prefixed so that seven pictures on one page cannot collide.

The report is built in a temporary directory beside ``out_dir`` and moved into place at the end, ``index.html``
last: a failure leaves the previous report (or none), never half of one.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depgraph.downloads.filenames import canonical_name
from depgraph.downloads.store import Store
from depgraph.downloads.totals import ingested_files
from depgraph.errors import BadInput, DepgraphError
from depgraph.render.charts import chart_figure, data_note, figure_bytes

if TYPE_CHECKING:
    from depgraph.candidates import CandidateSource

IMAGES = "images"
HTML_FILE = "index.html"
MARKDOWN_FILE = "report.md"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
DIAGRAM_FILES = ("diagram.svg", "diagram.mmd")
CHART_ORDER = ("daily", "hourly", "top", "cluster", "week", "totals")
INDEX_CHARTS = ("daily", "hourly", "top")  # drawn even when nothing spiked


# --- the content, format-free ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    lead: str = ""  # shown in bold before the text
    kind: str = ""  # note | summary | verdict: a style hint for HTML


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[int, ...] = ()  # right-aligned columns


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Picture:
    key: str
    file: str  # relative to the report's directory
    title: str
    caption: str
    svg: str  # sanitised inline SVG ("" when it could not be drawn)
    missing: str = ""  # why it could not be drawn


Block = Heading | Paragraph | Table | Bullets | Picture


@dataclass(frozen=True)
class ReportResult:
    """What ``write_report`` wrote: the directory, the files in it (relative paths), and what it found."""

    out_dir: Path
    day: str
    package: str | None
    verdict: str | None
    pictures: tuple[str, ...]  # the pictures shown, in order (relative paths)
    files: tuple[str, ...]  # every file written (relative paths)
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "date": self.day, "package": self.package, "verdict": self.verdict,
                "pictures": list(self.pictures), "files": list(self.files), "note": self.note}


# --- writing -----------------------------------------------------------------------------------------------------

def write_report(store: Store, day: date, out_dir: Path, package: str | None = None, note: str | None = None,
                 index: str | None = None, candidates: CandidateSource | None = None) -> ReportResult:
    """Investigate ``day`` (``package``'s spike, or the package with the largest excess that day) and write the
    HTML and Markdown reports into ``out_dir``. ``note`` replaces the data-source note read from the store;
    ``index`` and ``candidates`` are ``explain``'s (whose downloads to count; where else to read releases)."""
    note = data_note(store) if note is None else note
    found = _investigation(store, day, package, index, candidates)
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f"{out_dir} is a file, not a directory", "give a directory with -o")
    built = out_dir.parent / f".{out_dir.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    built.mkdir()  # not mkdtemp: the report's directory gets the user's usual permissions
    try:
        pictures = _draw_pictures(store, day, found, note, built / IMAGES)
        blocks = report_blocks(store, day, found, pictures, note)
        title = _title(day, found)
        (built / MARKDOWN_FILE).write_text(markdown_document(title, blocks), encoding="utf-8")
        (built / HTML_FILE).write_text(html_document(title, blocks), encoding="utf-8")
        files = tuple(sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()))
        _publish(built, out_dir, files)
    finally:
        shutil.rmtree(built, ignore_errors=True)
    explanation = found.explanation
    return ReportResult(out_dir, day.isoformat(), found.package, explanation["verdict"] if explanation else None,
                        tuple(p.file for p in pictures if p.svg), files, note)


def _publish(built: Path, out_dir: Path, files: tuple[str, ...]) -> None:
    """Move the built report into ``out_dir``: one rename when it is new; else the pictures first, then
    ``report.md``, ``index.html`` last (pictures of an earlier report that this one does not draw are removed)."""
    if not out_dir.exists():
        built.rename(out_dir)
        return
    images = out_dir / IMAGES
    images.mkdir(exist_ok=True)
    for name in files:
        if name.startswith(f"{IMAGES}/"):
            os.replace(built / name, out_dir / name)
    for stale in _own_image_names():
        if f"{IMAGES}/{stale}" not in files:
            (images / stale).unlink(missing_ok=True)
    os.replace(built / MARKDOWN_FILE, out_dir / MARKDOWN_FILE)
    os.replace(built / HTML_FILE, out_dir / HTML_FILE)


def _own_image_names() -> tuple[str, ...]:
    return (*(f"{kind}.svg" for kind in CHART_ORDER), *DIAGRAM_FILES)


# --- investigating -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Investigation:
    package: str | None
    source: str | None  # whose downloads are counted (None: every index in the store)
    explanation: dict[str, Any] | None  # Explanation.to_dict()
    spikes: tuple[dict[str, Any], ...]  # every spike of the day (SpikeRow.to_dict())
    packages: tuple[str, ...]  # the packages the charts follow: the cluster, or the package alone
    compare: date | None  # the day before the spike began


def _investigation(store: Store, day: date, package: str | None, index: str | None,
                   candidates: CandidateSource | None) -> Investigation:
    from depgraph.explain import explain
    from depgraph.spikes import download_source, spike_report

    source = download_source(store, index)
    spikes = tuple(row.to_dict() for row in spike_report(store, day, day, index=index).rows)
    if package is not None:
        name = canonical_name(package)
        if name is None:
            raise BadInput(f"package {package!r} is not a valid project name", "use e.g. zope-interface")
        package = name
    elif spikes:
        package = max(spikes, key=lambda row: (row["excess"], row["package"]))["package"]
    if package is None:
        return Investigation(None, source, None, spikes, (), None)
    data = explain(store, package, day, index=index, candidates=candidates).to_dict()
    start = data.get("spike_start")
    compare = date.fromisoformat(start[:10]) - timedelta(days=1) if start else None
    return Investigation(package, source, data, spikes, tuple(data["cluster"]) or (package,), compare)


def _title(day: date, found: Investigation) -> str:
    if found.package is None:
        return f"Downloads on {day.isoformat()}: no spike"
    return f"Download spike report: {found.package} on {day.isoformat()}"


# --- pictures ----------------------------------------------------------------------------------------------------

CAPTIONS = {
    "daily": ("Downloads per day", "The whole index's downloads per day; spike days (far above the median of the "
              "28 days before, the dashed line) in orange-red."),
    "hourly": ("Downloads per hour", "The same downloads per hour (UTC): each day's bell curve, spike days shaded."),
    "top": ("The most downloaded packages, before and during the spike",
            "The top 10 packages of {compare} and of {day}, on the same scale; the spiking packages in orange-red."),
    "cluster": ("The packages that spiked together", "Downloads per day of {packages}, stacked; their sum above "
                "each bar."),
    "week": ("Spiking against the most popular packages", "The spiking packages (solid) against the packages most "
             "downloaded before the spike (dashed), over the week to {day}."),
    "totals": ("Daily totals with and without the spiking packages", "The index's downloads per day with and "
               "without {packages}: without them, the graph levels out."),
    "diagram": ("Dependency diagram", "The spiking packages, their dependencies and the release that best explains "
                "the spike; each package coloured by its downloads that day against its baseline."),
}


def _draw_pictures(store: Store, day: date, found: Investigation, note: str, images: Path) -> list[Picture]:
    images.mkdir(parents=True)
    kinds = CHART_ORDER if found.package else INDEX_CHARTS
    pictures = []
    for number, kind in enumerate(kinds, start=1):
        params: dict[str, Any] = {"day": day, "note": note, "source": found.source}
        if found.package:
            params.update(packages=found.packages, compare=found.compare)
        data = figure_bytes(chart_figure(kind, store, **params), "svg")
        (images / f"{kind}.svg").write_bytes(data)
        pictures.append(_picture(kind, f"{IMAGES}/{kind}.svg", data, f"f{number}-", day, found))
    if found.explanation is not None:
        pictures.append(_diagram(found, images, day, f"f{len(pictures) + 1}-"))
    return pictures


def _picture(key: str, file: str, svg: bytes, prefix: str, day: date, found: Investigation) -> Picture:
    title, caption = CAPTIONS[key]
    compare = found.compare.isoformat() if found.compare else "the day before"
    caption = caption.format(day=day.isoformat(), compare=compare, packages=", ".join(found.packages))
    return Picture(key, file, title, caption, inline_svg(svg, prefix))


def _diagram(found: Investigation, images: Path, day: date, prefix: str) -> Picture:
    from depgraph.render.dot import explanation_dot, write_diagram
    from depgraph.render.mermaid import explanation_mermaid

    assert found.explanation is not None
    dot_text, mermaid_text = explanation_dot(found.explanation), explanation_mermaid(found.explanation)
    write_diagram(images / "diagram.mmd", dot_text, mermaid_text)
    try:
        write_diagram(images / "diagram.svg", dot_text, mermaid_text)
    except DepgraphError as exc:
        title, caption = CAPTIONS["diagram"]
        return Picture("diagram", f"{IMAGES}/diagram.mmd", title, caption, "",
                       f"not drawn: {exc}; the Mermaid text is in {IMAGES}/diagram.mmd")
    return _picture("diagram", f"{IMAGES}/diagram.svg", (images / "diagram.svg").read_bytes(), prefix, day, found)


DROPPED_ELEMENTS = ("metadata", "script", "foreignObject", "style")
URL_REFERENCE = re.compile(r"url\(#([^)]+)\)")


def inline_svg(svg: bytes, prefix: str) -> str:
    """An SVG document as an element to put inside HTML: parsed and written again (comments, the XML declaration
    and the doctype dropped; scripts, styles, metadata, event attributes and links leaving the picture removed),
    every id prefixed with ``prefix`` and every reference to it too."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(svg)
    _drop_unsafe(root)
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            element.set(name, _prefixed(name, value, ids, prefix))
    return ET.tostring(root, encoding="unicode")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _drop_unsafe(root: ET.Element) -> None:
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or _local(child.tag) in DROPPED_ELEMENTS:
                parent.remove(child)
        for name, value in list(parent.attrib.items()):
            if _local(name).lower().startswith("on") or (_local(name) == "href" and not value.startswith("#")):
                del parent.attrib[name]


def _prefixed(name: str, value: str, ids: set[str | None], prefix: str) -> str:
    if _local(name) == "id":
        return prefix + value
    if _local(name) == "href" and value[1:] in ids:
        return f"#{prefix}{value[1:]}"
    return URL_REFERENCE.sub(lambda m: f"url(#{prefix}{m.group(1)})" if m.group(1) in ids else m.group(0), value)


# --- the blocks --------------------------------------------------------------------------------------------------

def report_blocks(store: Store, day: date, found: Investigation, pictures: list[Picture], note: str) -> list[Block]:
    """Everything the report says, in order, as plain text."""
    blocks: list[Block] = [Paragraph(note or "Data: the download store.", kind="note")]
    data = found.explanation
    if data is None:
        blocks.append(Paragraph(f"No package spiked on {day.isoformat()}: the charts below show the whole index.",
                                "Verdict:", "verdict"))
    else:
        blocks += _verdict_blocks(data)
    blocks += _spikes_blocks(day, found.spikes)
    blocks.append(Heading("Pictures"))
    blocks += pictures
    if data is not None:
        blocks += _suspect_blocks(data) + _index_blocks(data) + _dependency_blocks(data)
        if data.get("notes"):
            blocks += [Heading("Notes"), Bullets(tuple(data["notes"]))]
    blocks += _source_blocks(store, note)
    return blocks


def _number(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _ratio(stat: dict[str, Any]) -> str:
    if stat.get("ratio") is not None:
        return f"{stat['ratio']:,.1f}x"
    return "new (no baseline)" if stat.get("count") else ""


def _verdict_blocks(data: dict[str, Any]) -> list[Block]:
    stat = data["downloads"]
    rows = [("verdict", data["verdict"]), ("downloads that day", _number(stat["count"])),
            ("baseline (median of the 28 days before)", _number(stat["baseline"])), ("ratio", _ratio(stat)),
            ("excess", _number(stat["excess"]))]
    if data.get("spike_start"):
        rows.append(("spike began (hour, UTC)", data["spike_start"].replace("T", " ")))
    python = (data.get("signature") or {}).get("python") or {}
    if python:
        top = max(sorted(python), key=lambda value: python[value])
        rows.append(("Python of the day's downloads", f"{python[top]:.0%} Python {top}"))
    if len(data["cluster"]) > 1:
        versions = data.get("cluster_versions") or {}
        members = ", ".join(f"{p} {versions.get(p, '')}".strip() for p in data["cluster"])
        rows.append(("spiked together", f"{members} (similarity {data['cluster_similarity']})"))
    history = data.get("history") or []
    if history:
        rows.append(("last 28 days", f"{min(history):,} to {max(history):,} downloads a day"))
    ratio = f", {_ratio(stat)} its baseline of {_number(stat['baseline'])}" if stat.get("ratio") else ""
    headline = f"{data['package']} on {data['date']}: {data['verdict']} ({_number(stat['count'])} downloads{ratio})."
    return [Paragraph(headline, "Verdict:", "verdict"), Table(("measure", "value"), tuple(rows)),
            Heading("Summary"), Paragraph(data["summary"], kind="summary")]


def _spikes_blocks(day: date, spikes: tuple[dict[str, Any], ...]) -> list[Block]:
    if not spikes:
        return [Heading(f"Spikes on {day.isoformat()}"), Paragraph("No package spiked that day.")]
    rows = tuple((s["package"], _number(s["count"]), _number(s["baseline"]), _ratio(s), _number(s["excess"]),
                  s["verdict"], str(s["cluster"] or "")) for s in spikes)
    return [Heading(f"Spikes on {day.isoformat()}"),
            Table(("package", "downloads", "baseline", "ratio", "excess", "verdict", "cluster"), rows, (1, 2, 3, 4))]


def _suspect_blocks(data: dict[str, Any]) -> list[Block]:
    suspects = data.get("suspects") or []
    if not suspects:
        return [Heading("Suspects"), Paragraph("No release explains the spike (or the store has no release "
                                               "metadata to rank them).")]
    rows = tuple((str(i), f"{s['package']} {s['version']}", s["released"][:16].replace("T", " "), f"{s['score']:.2f}")
                 for i, s in enumerate(suspects[:5], start=1))
    blocks: list[Block] = [Heading("Suspects"), Paragraph("Releases of the weeks before, ranked by how well their "
                                                          "requirements fit the spike."),
                           Table(("rank", "release", "released (UTC)", "score"), rows, (0, 3))]
    for suspect in suspects[:3]:
        blocks += [Heading(f"Evidence: {suspect['package']} {suspect['version']}", 3),
                   Bullets(tuple(suspect["evidence"]))]
    return blocks


def _index_blocks(data: dict[str, Any]) -> list[Block]:
    index = data.get("explicit_index")
    if not index:
        return []
    rows = tuple((p["package"], p["version"], p["expected_index_default"], p["expected_index_primary"],
                  _number(p["observed"]), _number(p["predicted"]), "yes" if p["explained"] else "no")
                 for p in index["per_package"])
    return [Heading("Which index served them"),
            Paragraph(index["reason"], "Explicit index likely: yes." if index["likely"] else
                      "Explicit index likely: no."),
            Table(("package", "version", "index, default pip configuration", "index, observed index as primary",
                   "observed", "predicted", "explained"), rows, (4, 5))]


def _dependency_blocks(data: dict[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    if data.get("dependencies"):
        rows = tuple((d["package"], _number(d["count"]), _number(d["baseline"]), _ratio(d), _number(d["excess"]))
                     for d in data["dependencies"])
        blocks += [Heading("Dependencies"),
                   Table(("dependency", "downloads", "baseline", "ratio", "excess"), rows, (1, 2, 3, 4))]
    not_following = data.get("dependencies_not_following") or []
    if not_following:
        blocks += [Heading("Why the dependencies did not follow", 3),
                   Bullets(tuple(f"{d['package']}: {d['why']}" for d in not_following))]
    return blocks


def _source_blocks(store: Store, note: str) -> list[Block]:
    files = ingested_files(store)
    items = tuple(f"{f.name} ({f.format}, {f.source}, {f.rows:,} rows)" for f in files)
    return [Heading("Data source"), Paragraph(note or "The download store."),
            Paragraph(f"Every number above comes from the download store {store.path.name}, built from:"),
            Bullets(items or ("no ingested file",))]


# --- Markdown ----------------------------------------------------------------------------------------------------

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_escape(text: str) -> str:
    """Plain text for Markdown: punctuation that could start emphasis, links, code, tables or HTML is escaped,
    and a line break cannot start a new block."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _md_table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(md_escape(c) for c in table.columns) + " |",
             "|" + "|".join("---:" if i in table.numeric else "---" for i in range(len(table.columns))) + "|"]
    lines += ["| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in table.rows]
    return lines


def _md_block(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + md_escape(block.text)]
    if isinstance(block, Paragraph):
        lead = f"**{md_escape(block.lead)}** " if block.lead else ""
        text = lead + md_escape(block.text)
        return ["> " + text] if block.kind == "note" else [text]
    if isinstance(block, Table):
        return _md_table(block)
    if isinstance(block, Bullets):
        return ["- " + md_escape(item) for item in block.items]
    if not block.svg:
        return [f"**{md_escape(block.title)}**: {md_escape(block.missing)}"]
    return [f"![{md_escape(block.title)}]({block.file})", "", f"*{md_escape(block.caption)}*"]


def markdown_document(title: str, blocks: list[Block]) -> str:
    lines = ["# " + md_escape(title)]
    for block in blocks:
        lines += ["", *_md_block(block)]
    return "\n".join(lines) + "\n"


# --- HTML --------------------------------------------------------------------------------------------------------

STYLE = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1a1a1a;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; background: #fff; }
h1 { font-size: 1.7rem; margin-bottom: .5rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.note { background: #fff8e1; border-left: 4px solid #E69F00; padding: .6rem 1rem; }
.verdict { font-size: 1.15rem; } .summary { background: #f4f8fb; padding: .8rem 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .3rem .7rem; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 2rem 0; } figure svg { display: block; max-width: 100%; height: auto; }
figure svg * { stroke-linejoin: round; stroke-linecap: butt; }
figcaption { color: #555; font-size: .92rem; margin-top: .4rem; }
"""


NUMERIC = ' class="n"'


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td{NUMERIC if i in table.numeric else ''}>{html.escape(cell)}</td>"
                                    for i, cell in enumerate(row)) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        lead = f"<strong>{html.escape(block.lead)}</strong> " if block.lead else ""
        css = f' class="{block.kind}"' if block.kind else ""
        return f"<p{css}>{lead}{html.escape(block.text)}</p>"
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in block.items) + "</ul>"
    if not block.svg:
        return f"<p><strong>{html.escape(block.title)}</strong>: {html.escape(block.missing)}</p>"
    return (f'<figure id="{html.escape(block.key)}">{block.svg}<figcaption><strong>{html.escape(block.title)}.'
            f"</strong> {html.escape(block.caption)}</figcaption></figure>")


def html_document(title: str, blocks: list[Block]) -> str:
    body = "\n".join(_html_block(block) for block in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n")
