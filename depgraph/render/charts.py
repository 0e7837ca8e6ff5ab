"""The download charts of a spike investigation, drawn with matplotlib's object API (``Figure``, no pyplot: no
global figure state, no display needed) and written as SVG or PNG.

Six kinds, one per picture of a spike story: ``daily`` (the index's downloads per day, spike days marked),
``hourly`` (per hour: the daily bell curves), ``top`` (the top N packages of two days, on the same scale),
``cluster`` (the packages that spiked together, day by day), ``week`` (spiking vs most popular packages over a
week) and ``totals`` (the index's daily totals with and without the spiking packages). Each kind has a query
step (``*_data``, from the store) and a drawing step (``draw_*``, from data already queried); ``chart_figure``
does both and ``write_chart`` writes the file.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies); groups also differ by line
style or marker, never by colour alone.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from pathlib import Path

import matplotlib
from matplotlib.dates import AutoDateLocator, DateFormatter, DayLocator, HourLocator
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory

from depgraph.downloads.corpora import RECONSTRUCTION_NOTE, reconstructed
from depgraph.downloads.filenames import canonical_list
from depgraph.downloads.queries import download_counts, store_range, top_packages
from depgraph.downloads.store import Store
from depgraph.downloads.totals import TotalSeries, daily_totals, hourly_totals, ingested_files
from depgraph.errors import BadInput

KINDS = ("daily", "hourly", "top", "cluster", "week", "totals")
FORMATS = ("svg", "png")
PNG_DPI = 150
FIGSIZE = (9.0, 4.8)

# Okabe & Ito (2008), "Color Universal Design"
BLUE, VERMILLION, ORANGE, SKY, GREEN, PURPLE, YELLOW = (
    "#0072B2", "#D55E00", "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#F0E442")
BLACK, GREY, LIGHT = "#000000", "#6E6E6E", "#E6E6E6"
SERIES = (VERMILLION, BLUE, ORANGE, GREEN, PURPLE, SKY, BLACK, GREY)
SPIKING_COLOURS = (VERMILLION, ORANGE, PURPLE, BLACK)
POPULAR_COLOURS = (BLUE, SKY, GREEN, GREY)


@dataclass(frozen=True)
class ChartOptions:
    """What a chart shows. Unset dates default around ``day`` and are kept inside the store's range."""

    day: date
    start: date | None = None
    end: date | None = None
    packages: tuple[str, ...] = ()  # the spiking packages (default: the largest cluster of ``day``)
    compare: date | None = None  # top: the other day (default: the day before the index's spike began)
    n: int | None = None  # top: how many packages (10); week: how many popular packages (4)
    source: str | None = None  # only downloads from this index
    note: str | None = None  # the footnote (default: from the store; "" for none)
    popular: tuple[str, ...] = field(default=())  # week: the popular packages (default: top of ``compare``)


# --- shared drawing helpers -------------------------------------------------------------------------------------

def _plain(text: str) -> str:
    """Text shown as typed: a ``$`` would otherwise start matplotlib's math mode."""
    return text.replace("$", r"\$")


def _thousands(value: float, _position: int | None = None) -> str:
    return f"{value:,.0f}"


def _figure(title: str, subtitle: str, note: str, *, ncols: int = 1, sharex: bool = False,
            figsize: tuple[float, float] = FIGSIZE) -> tuple[Figure, list]:
    figure = Figure(figsize=figsize, layout="constrained", facecolor="white")
    axes = list(figure.subplots(1, ncols, sharex=sharex, squeeze=False)[0])
    figure.suptitle(_plain(title), x=0.01, ha="left", fontsize=14, fontweight="bold")
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=9)
    if subtitle:
        axes[0].set_title(_plain(subtitle), loc="left", fontsize=9.5, color=GREY, pad=10)
    if note:
        figure.get_layout_engine().set(rect=(0, 0.045, 1, 0.955))
        figure.text(0.01, 0.012, _plain(note), fontsize=8, color=GREY, ha="left", va="bottom", style="italic")
    return figure, axes


def _count_axis(ax, axis: str = "y") -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(_thousands))
    target.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.grid(axis=axis, color=LIGHT, linewidth=0.8)
    ax.set_axisbelow(True)


def _day_axis(ax, days: int) -> None:
    ax.xaxis.set_major_locator(DayLocator() if days <= 16 else AutoDateLocator(minticks=5, maxticks=10))
    ax.xaxis.set_major_formatter(DateFormatter("%a %-d %b" if days <= 16 else "%-d %b"))


def _when(period: str) -> datetime:
    return datetime.fromisoformat(period)


def _label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _legend(ax, **options) -> None:
    legend = ax.legend(frameon=False, fontsize=9, **options)
    for text in legend.get_texts():
        text.set_text(_plain(text.get_text()))


# --- choosing what to show ---------------------------------------------------------------------------------------

def data_note(store: Store) -> str:
    """The footnote of the store's charts: a reconstruction says so (told by the files it was built from, named
    after a corpus that ships with depgraph); otherwise the indexes the downloads came from."""
    found = reconstructed(store)
    if found:
        return f"Data: {', '.join(found)}, {RECONSTRUCTION_NOTE}."
    sources = sorted({f.source for f in ingested_files(store) if f.format != "releases"})
    return f"Data: {', '.join(sources)} download logs." if sources else ""


def _note(store: Store, options: ChartOptions) -> str:
    return data_note(store) if options.note is None else options.note


def _range(store: Store, options: ChartOptions, before: int, after: int) -> tuple[date, date]:
    bounds = store_range(store)
    if bounds is None:
        raise BadInput("the store holds no downloads", "ingest a log first: depgraph ingest FILE")
    start = max(options.start or options.day - timedelta(days=before), bounds[0])
    end = min(options.end or options.day + timedelta(days=after), bounds[1])
    if start > end:
        raise BadInput(f"no downloads in the store between {start} and {end}",
                       f"the store covers {bounds[0]} to {bounds[1]}")
    return start, end


def spiking_packages(store: Store, day: date, source: str | None = None) -> tuple[str, ...]:
    """The cluster of the package with the largest excess on ``day`` (empty when nothing spiked)."""
    from depgraph.spikes import spike_report

    report = spike_report(store, day, day, index=source)
    if not report.rows:
        return ()
    number = report.rows[0].cluster
    for cluster in report.clusters:
        if cluster["number"] == number:
            return tuple(cluster["packages"])
    return (report.rows[0].stat.package,)


@dataclass(frozen=True)
class Group:
    """The packages a chart follows, and whether all of them spiked on the day (which decides its wording)."""

    packages: tuple[str, ...]
    spiked: bool = True

    def noun(self, together: bool = False) -> str:
        """``numpy``, ``the 4 spiking packages`` (``the 4 packages that spiked together``) or ``3 packages``."""
        k = len(self.packages)
        if k == 1:
            return self.packages[0]
        if not self.spiked:
            return f"{k} packages"
        return f"the {k} packages that spiked together" if together else f"the {k} spiking packages"


def _group(store: Store, options: ChartOptions, required: bool = True) -> Group:
    from depgraph.detect import day_stats

    packages = tuple(canonical_list(list(options.packages))) or spiking_packages(store, options.day, options.source)
    if not packages:
        if required:
            raise BadInput(f"no package spiked on {options.day}", "name the packages with --package")
        return Group(())
    stats = day_stats(store, options.day, packages=list(packages), source=options.source)
    return Group(packages, all(stat.spike for stat in stats))


def _capital(text: str) -> str:
    """Only our own words are capitalised, never a package name."""
    return text[0].upper() + text[1:] if text.startswith(("the ", "which ")) else text


def compare_day(store: Store, day: date, source: str | None = None) -> date:
    """The day before the index's run of spike days that ends on ``day``; a week before when ``day`` is quiet."""
    series = daily_totals(store, day - timedelta(days=14), day, source=source)
    spikes = {row.period for row in series.rows if row.spike}
    if day.isoformat() not in spikes:
        return day - timedelta(days=7)
    first = day
    while (first - timedelta(days=1)).isoformat() in spikes:
        first -= timedelta(days=1)
    return first - timedelta(days=1)


def _per_package(store: Store, packages: Sequence[str], start: date, end: date,
                 source: str | None) -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {p: [] for p in packages}
    for row in download_counts(store, list(packages), start, end, source=source).rows:
        found[row.package].append((row.period, row.downloads))
    return found


# --- daily: the index's downloads per day, spike days marked -------------------------------------------------------

def daily_data(store: Store, options: ChartOptions) -> TotalSeries:
    start, end = _range(store, options, 63, 5)
    return daily_totals(store, start, end, source=options.source)


def draw_daily(series: TotalSeries, note: str = "") -> Figure:
    rows = series.rows
    spikes = [row for row in rows if row.spike]
    subtitle = (f"{_label(date.fromisoformat(rows[0].period))} to {_label(date.fromisoformat(rows[-1].period))}; "
                f"{len(spikes)} spike day{'s' * (len(spikes) != 1)}, far above the median of the 28 days before")
    figure, (ax,) = _figure("Downloads per day, all packages", subtitle, note)
    days = [_when(row.period) for row in rows]
    ax.bar(days, [row.downloads for row in rows], width=0.8,
           color=[VERMILLION if row.spike else BLUE for row in rows])
    baselines = [(day, row.baseline) for day, row in zip(days, rows, strict=True) if row.baseline is not None]
    if baselines:
        ax.plot(*zip(*baselines, strict=True), color=BLACK, linewidth=1.2, linestyle="--")
    for row in spikes:
        ax.annotate(f"{row.downloads:,}", (_when(row.period), row.downloads), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8, color=VERMILLION,
                    rotation=90)
    _count_axis(ax)
    _day_axis(ax, len(rows))
    ax.set_ylabel("downloads per day")
    ax.margins(x=0.01, y=0.12)
    _legend(ax, handles=[Patch(color=BLUE, label="day"), Patch(color=VERMILLION, label="spike day"),
                         Line2D([], [], color=BLACK, linestyle="--", label="median of the 28 days before")],
            loc="upper left", ncols=3)
    return figure


# --- hourly: the daily bell curves --------------------------------------------------------------------------------

def hourly_data(store: Store, options: ChartOptions) -> tuple[TotalSeries, tuple[str, ...]]:
    start, end = _range(store, options, 4, 2)
    spikes = daily_totals(store, start, end, source=options.source).spike_days
    return hourly_totals(store, start, end, source=options.source), spikes


def draw_hourly(series: TotalSeries, spike_days: Iterable[str] = (), note: str = "") -> Figure:
    rows = series.rows
    first, last = rows[0].period[:10], rows[-1].period[:10]
    figure, (ax,) = _figure("Downloads per hour, all packages",
                            f"{_label(date.fromisoformat(first))} to {_label(date.fromisoformat(last))} (UTC); "
                            "spike days shaded", note)
    hours = [_when(row.period) for row in rows]
    counts = [row.downloads for row in rows]
    for day in spike_days:
        start = _when(day)
        ax.axvspan(start, start + timedelta(days=1), color=VERMILLION, alpha=0.10, linewidth=0)
    ax.fill_between(hours, counts, color=BLUE, alpha=0.15, linewidth=0, step="post")
    ax.step(hours, counts, where="post", color=BLUE, linewidth=1.3)
    _count_axis(ax)
    ax.xaxis.set_major_locator(DayLocator())
    ax.xaxis.set_major_formatter(DateFormatter("%a %-d %b"))
    ax.xaxis.set_minor_locator(HourLocator(byhour=[6, 12, 18]))
    ax.set_xlim(hours[0], hours[-1] + timedelta(hours=1))
    ax.set_ylabel("downloads per hour")
    ax.margins(y=0.08)
    handles = [Line2D([], [], color=BLUE, label="downloads per hour")]
    if list(spike_days):
        handles.append(Patch(color=VERMILLION, alpha=0.2, label="spike day"))
    _legend(ax, handles=handles, loc="upper left")
    return figure


# --- top: two days on the same scale -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TopData:
    days: tuple[date, date]
    rows: tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]
    highlight: Group


def top_data(store: Store, options: ChartOptions) -> TopData:
    other = options.compare or compare_day(store, options.day, options.source)
    n = options.n or 10
    found = tuple(tuple((r.package, r.downloads) for r in top_packages(store, d, n, options.source))
                  for d in (other, options.day))
    return TopData((other, options.day), (found[0], found[1]), _group(store, options, required=False))


def draw_top(data: TopData, note: str = "") -> Figure:
    n = max(len(rows) for rows in data.rows) or 1
    figure, axes = _figure(f"The {n} most downloaded packages, two days on the same scale", "", note, ncols=2,
                           sharex=True, figsize=(FIGSIZE[0], max(FIGSIZE[1], 1.6 + 0.32 * n)))
    peak = max((count for rows in data.rows for _, count in rows), default=1)
    for ax, day, rows in zip(axes, data.days, data.rows, strict=True):
        _top_panel(ax, day, rows, data.highlight.packages, n)
    axes[0].set_xlim(0, peak * 1.2)
    if data.highlight.packages:
        label = "spiking" if data.highlight.spiked else "chosen"
        _legend(axes[1], handles=[Patch(color=VERMILLION, label=label), Patch(color=BLUE, label="other")],
                loc="lower right")
    return figure


def _top_panel(ax, day: date, rows: Sequence[tuple[str, int]], highlight: Sequence[str], n: int) -> None:
    positions = list(range(len(rows)))
    colours = [VERMILLION if name in highlight else BLUE for name, _ in rows]
    ax.barh(positions, [count for _, count in rows], color=colours, height=0.7)
    ax.set_yticks(positions, [_plain(name) for name, _ in rows], fontsize=9)
    ax.set_ylim(n - 0.5, -0.5)
    for position, (_, count) in zip(positions, rows, strict=True):
        ax.annotate(f"{count:,}", (count, position), xytext=(3, 0), textcoords="offset points", va="center",
                    fontsize=8)
    ax.set_title(_label(day), loc="left", fontsize=11, fontweight="bold")
    _count_axis(ax, "x")
    ax.set_xlabel("downloads")
    ax.tick_params(axis="y", length=0)


# --- cluster: the spiking packages day by day ----------------------------------------------------------------------

@dataclass(frozen=True)
class ClusterData:
    group: Group
    counts: dict[str, list[tuple[str, int]]]  # package -> (day, downloads), every day of the range


def cluster_data(store: Store, options: ChartOptions) -> ClusterData:
    start, end = _range(store, options, 6, 2)
    group = _group(store, options)
    return ClusterData(group, _per_package(store, group.packages, start, end, options.source))


def draw_cluster(data: ClusterData, note: str = "") -> Figure:
    counts = data.counts
    packages = list(counts)
    periods = [period for period, _ in counts[packages[0]]]
    subtitle = ("downloads per day, stacked per package; their sum above each bar" if len(packages) > 1
                else "downloads per day")
    figure, (ax,) = _figure(f"{_capital(data.group.noun(together=True))}, day by day", subtitle, note)
    days = [_when(period) for period in periods]
    bottom = [0] * len(periods)
    for index, package in enumerate(packages):
        values = [count for _, count in counts[package]]
        ax.bar(days, values, bottom=bottom, width=0.75, color=SERIES[index % len(SERIES)], label=package,
               edgecolor="white", linewidth=0.6)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for day, total in zip(days, bottom, strict=True):
        ax.annotate(f"{total:,}", (day, total), xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8.5)
    _count_axis(ax)
    _day_axis(ax, len(days))
    ax.set_ylabel("downloads per day")
    ax.margins(y=0.12)
    handles, labels = ax.get_legend_handles_labels()
    _legend(ax, handles=handles[::-1], labels=labels[::-1], loc="upper left")  # in the order of the stack
    return figure


# --- week: spiking vs most popular ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class WeekData:
    group: Group
    spiking: dict[str, list[tuple[str, int]]]
    popular: dict[str, list[tuple[str, int]]]
    compare: date | None = None  # the day the popular packages are the top of (None: chosen by the caller)


def week_data(store: Store, options: ChartOptions) -> WeekData:
    start, end = _range(store, options, 6, 0)
    group = _group(store, options)
    popular = tuple(canonical_list(list(options.popular)))
    other = None if popular else options.compare or compare_day(store, options.day, options.source)
    if other is not None:
        popular = _popular(store, other, options, group.packages)
    return WeekData(group, _per_package(store, group.packages, start, end, options.source),
                    _per_package(store, popular, start, end, options.source), other)


def _popular(store: Store, other: date, options: ChartOptions, spiking: Sequence[str]) -> tuple[str, ...]:
    """The most downloaded packages of the comparison day, the spiking ones left out."""
    n = options.n or 4
    rows = top_packages(store, other, n + len(spiking), options.source)
    return tuple(row.package for row in rows if row.package not in spiking)[:n]


def draw_week(data: WeekData, note: str = "") -> Figure:
    chosen = "spiking" if data.group.spiked else "chosen"
    figure, (ax,) = _figure(f"{_capital(data.group.noun())} against the most popular packages",
                            f"downloads per day; solid: {chosen}, dashed: "
                            + (f"the most downloaded on {_label(data.compare)}" if data.compare else "for comparison"),
                            note)
    groups = ((data.spiking, SPIKING_COLOURS, "-", "o"), (data.popular, POPULAR_COLOURS, "--", "s"))
    ends: list[tuple[float, str, str]] = []
    periods: list[str] = []
    for series, colours, style, marker in groups:
        for index, (package, rows) in enumerate(series.items()):
            periods = [period for period, _ in rows]
            colour = colours[index % len(colours)]
            ax.plot([_when(p) for p in periods], [count for _, count in rows], linestyle=style, marker=marker,
                    markersize=4.5, linewidth=1.8, color=colour)
            ends.append((rows[-1][1], package, colour))
    _count_axis(ax)
    _day_axis(ax, len(periods))
    ax.set_ylabel("downloads per day")
    ax.margins(x=0.02, y=0.08)
    _end_labels(ax, _when(periods[-1]), ends)
    return figure


def _end_labels(ax, x: datetime, ends: list[tuple[float, str, str]]) -> None:
    """A label at the end of each line, in its colour, moved apart where lines end together (never a legend
    to decode: the eye goes from the line to its name)."""
    low, high = ax.get_ylim()
    gap = (high - low) * 0.045
    placed: list[float] = []
    for value, _, _ in sorted(ends):
        placed.append(max(value, placed[-1] + gap) if placed else value)
    overflow = placed[-1] - high if placed else 0
    if overflow > 0:
        placed = [y - overflow for y in placed]
    beside = blended_transform_factory(ax.transAxes, ax.transData)
    for y, (value, package, colour) in zip(placed, sorted(ends), strict=True):
        ax.annotate(_plain(package), (x, value), xytext=(1.03, y), textcoords=beside, va="center", fontsize=9,
                    color=colour, annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.6, "shrinkA": 2, "shrinkB": 4})


# --- totals: with and without the spiking packages -------------------------------------------------------------------

@dataclass(frozen=True)
class TotalsData:
    group: Group
    everything: TotalSeries
    without: TotalSeries


def totals_data(store: Store, options: ChartOptions) -> TotalsData:
    start, end = _range(store, options, 63, 5)
    group = _group(store, options)
    return TotalsData(group, daily_totals(store, start, end, source=options.source),
                      daily_totals(store, start, end, exclude=group.packages, source=options.source))


def draw_totals(data: TotalsData, note: str = "") -> Figure:
    everything, without, noun = data.everything, data.without, data.group.noun()
    figure, (ax,) = _figure(f"Daily downloads with and without {noun}", f"without: {', '.join(without.excluded)}",
                            note)
    days = [_when(row.period) for row in everything.rows]
    total = [row.downloads for row in everything.rows]
    rest = [row.downloads for row in without.rows]
    ax.fill_between(days, rest, total, color=VERMILLION, alpha=0.18, linewidth=0)
    ax.plot(days, total, color=VERMILLION, linewidth=2.4)
    ax.plot(days, rest, color=BLUE, linewidth=1.4)
    _count_axis(ax)
    _day_axis(ax, len(days))
    ax.set_ylabel("downloads per day")
    ax.set_ylim(0, max(total) * 1.12 if total else 1)
    ax.margins(x=0.01)
    _legend(ax, handles=[Line2D([], [], color=VERMILLION, linewidth=2.4, label="all packages"),
                         Line2D([], [], color=BLUE, linewidth=1.4, label=f"without {noun}"),
                         Patch(color=VERMILLION, alpha=0.25, label="their downloads")],
            loc="lower left", ncols=3)
    return figure


# --- one entry ----------------------------------------------------------------------------------------------------

def _daily(store: Store, o: ChartOptions) -> Figure:
    return draw_daily(daily_data(store, o), _note(store, o))


def _hourly(store: Store, o: ChartOptions) -> Figure:
    return draw_hourly(*hourly_data(store, o), note=_note(store, o))


def _top(store: Store, o: ChartOptions) -> Figure:
    return draw_top(top_data(store, o), _note(store, o))


def _cluster(store: Store, o: ChartOptions) -> Figure:
    return draw_cluster(cluster_data(store, o), _note(store, o))


def _week(store: Store, o: ChartOptions) -> Figure:
    return draw_week(week_data(store, o), _note(store, o))


def _totals(store: Store, o: ChartOptions) -> Figure:
    return draw_totals(totals_data(store, o), _note(store, o))


BUILDERS: dict[str, Callable[[Store, ChartOptions], Figure]] = {
    "daily": _daily, "hourly": _hourly, "top": _top, "cluster": _cluster, "week": _week, "totals": _totals}


def chart_options(**params: object) -> ChartOptions:
    known = {f.name for f in fields(ChartOptions)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise BadInput(f"unknown chart parameter {unknown[0]!r}", f"use {', '.join(sorted(known))}")
    if "day" not in params:
        raise BadInput("a chart needs a day", "give --date YYYY-MM-DD")
    for name in ("packages", "popular"):
        if name in params and params[name] is not None:
            params[name] = tuple(params[name])  # type: ignore[arg-type]
    return ChartOptions(**params)  # type: ignore[arg-type]


def chart_figure(kind: str, store: Store, **params: object) -> Figure:
    """The chart ``kind`` (one of ``KINDS``) of the store; ``params`` are ``ChartOptions`` fields."""
    if kind not in BUILDERS:
        raise BadInput(f"unknown chart {kind!r}", f"use one of {', '.join(KINDS)}")
    return BUILDERS[kind](store, chart_options(**params))


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """The figure as SVG (reproducible: fixed ids, no date) or PNG."""
    if fmt not in FORMATS:
        raise BadInput(f"charts are written as {' or '.join(FORMATS)}, not {fmt!r}", "use FILE.svg or FILE.png")
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "depgraph", "svg.fonttype": "path"}):
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        figure.savefig(buffer, format=fmt, dpi=PNG_DPI, metadata=metadata, facecolor="white")
    return buffer.getvalue()


def save_figure(figure: Figure, path: Path) -> Path:
    """Write ``figure`` to ``path`` (``.svg`` or ``.png``) atomically: a temporary file, then a rename."""
    data = figure_bytes(figure, path.suffix.lstrip(".").lower())
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_chart(kind: str, store: Store, path: Path, **params: object) -> Path:
    """Draw chart ``kind`` from the store and write it to ``path`` (``.svg`` or ``.png``)."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise BadInput(f"output {path} has an unknown extension", "use .svg or .png")
    return save_figure(chart_figure(kind, store, **params), path)
