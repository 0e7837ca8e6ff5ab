"""The six download charts: each kind draws from the reconstruction and writes a valid SVG and a non-blank PNG;
what they show is checked against the figures the piwheels post published (which the reconstruction is
calibrated to), and a change in the data changes the chart."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from depgraph.downloads.queries import download_counts
from depgraph.downloads.store import Store, open_store
from depgraph.downloads.totals import TotalRow, TotalSeries, daily_totals, hourly_totals
from depgraph.errors import BadInput
from depgraph.render.charts import (
    KINDS,
    RECONSTRUCTION_NOTE,
    ChartOptions,
    ClusterData,
    Group,
    chart_figure,
    cluster_data,
    daily_data,
    data_note,
    draw_cluster,
    draw_daily,
    figure_bytes,
    save_figure,
    top_data,
    totals_data,
    write_chart,
)

DAY = date(2020, 3, 5)
CLUSTER = ("flask-login", "markdown", "semantic-version", "sentry-sdk")
HOSTILE = 'a"b<script>alert(1)</script>$x$'


@pytest.fixture(scope="module")
def store(reconstruction: tuple[Path, Path, int]) -> Iterator[Store]:
    with open_store(reconstruction[1], read_only=True) as opened:
        yield opened


def svg_root(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def png_pixels(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return mpimg.imread(io.BytesIO(data), format="png")


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_writes_svg_and_png(store: Store, kind: str, tmp_path: Path) -> None:
    figure = chart_figure(kind, store, day=DAY, packages=CLUSTER, compare=date(2020, 3, 3))  # defaults: below
    svg = save_figure(figure, tmp_path / f"{kind}.svg").read_bytes()
    png = save_figure(figure, tmp_path / f"{kind}.png").read_bytes()
    root = svg_root(svg)
    assert float(root.get("width", "0").removesuffix("pt")) > 100
    assert RECONSTRUCTION_NOTE.encode() in svg  # the footnote (matplotlib keeps each text as a comment)
    pixels = png_pixels(png)[..., :3]
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    rgb = (pixels * 255).round().astype(np.uint32)
    colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
    assert len(colours) > 20, "the PNG is (nearly) a single colour"
    assert (pixels.mean(axis=2) < 0.9).mean() > 0.02, "almost nothing is drawn"
    assert not list(tmp_path.glob(".*.part")), "a temporary file was left behind"


def test_daily_marks_the_published_spike_days(store: Store) -> None:
    series = daily_data(store, ChartOptions(day=DAY))
    counts = {row.period: row.downloads for row in series.rows}
    assert (counts["2020-03-04"], counts["2020-03-05"], counts["2020-03-06"]) == (56225, 60324, 52879)
    assert [day for day in series.spike_days if day >= "2020-01-01"] == ["2020-03-04", "2020-03-05", "2020-03-06"]
    assert all(23383 <= counts[d] <= 38139 for d in counts if "2020-01-01" <= d <= "2020-02-29")


def test_hourly_totals_add_up_to_the_daily_ones(store: Store) -> None:
    hours = hourly_totals(store, date(2020, 3, 3), date(2020, 3, 6))
    assert len(hours.rows) == 4 * 24
    days = daily_totals(store, date(2020, 3, 3), date(2020, 3, 6))
    for day in days.rows:
        assert sum(h.downloads for h in hours.rows if h.period.startswith(day.period)) == day.downloads


def test_top_shows_two_days_on_the_same_scale(store: Store) -> None:
    data = top_data(store, ChartOptions(day=DAY))
    assert data.days == (date(2020, 3, 3), DAY)  # the day before the spike began
    assert data.rows[0][:2] == (("pycparser", 1908), ("numpy", 896))
    assert [name for name, _ in data.rows[1][:4]] == ["flask-login", "markdown", "semantic-version", "sentry-sdk"]
    assert set(data.highlight.packages) == set(CLUSTER) and data.highlight.spiked
    figure = chart_figure("top", store, day=DAY)
    left, right = figure.axes[:2]
    assert left.get_xlim() == right.get_xlim()


def test_cluster_is_the_spiking_packages_day_by_day(store: Store) -> None:
    data = cluster_data(store, ChartOptions(day=DAY))
    assert set(data.group.packages) == set(CLUSTER)
    combined: dict[str, int] = {}
    for rows in data.counts.values():
        for period, count in rows:
            combined[period] = combined.get(period, 0) + count
    assert combined["2020-03-03"] == 130 and combined["2020-03-05"] == 24256


def test_totals_without_the_cluster_differ_by_its_downloads(store: Store) -> None:
    data = totals_data(store, ChartOptions(day=DAY))
    first, last = (date.fromisoformat(data.everything.rows[i].period) for i in (0, -1))
    cluster: dict[str, int] = {}
    for row in download_counts(store, list(CLUSTER), first, last).rows:
        cluster[row.period] = cluster.get(row.period, 0) + row.downloads
    for full, rest in zip(data.everything.rows, data.without.rows, strict=True):
        assert full.period == rest.period
        assert full.downloads - rest.downloads == cluster[full.period]
    assert data.without.spike_days == ()  # "subtracting those packages levels out the graph"
    assert set(data.everything.spike_days) >= {"2020-03-04", "2020-03-05", "2020-03-06"}


def series(values: list[int], spikes: tuple[int, ...] = ()) -> TotalSeries:
    rows = tuple(TotalRow(f"2020-03-{i + 1:02d}", v, 100.0, i in spikes) for i, v in enumerate(values))
    return TotalSeries("day", (), None, rows)


def test_a_change_in_the_data_changes_the_chart() -> None:
    base = figure_bytes(draw_daily(series([100, 110, 105, 400]), "note"), "svg")
    assert figure_bytes(draw_daily(series([100, 110, 105, 400]), "note"), "svg") == base  # reproducible
    assert figure_bytes(draw_daily(series([100, 110, 105, 401]), "note"), "svg") != base
    assert figure_bytes(draw_daily(series([100, 110, 105, 400], (3,)), "note"), "svg") != base
    assert figure_bytes(draw_daily(series([100, 110, 105, 400]), "another note"), "svg") != base


def test_hostile_names_are_text_in_the_svg() -> None:
    group = Group((HOSTILE, "b"), True)
    data = ClusterData(group, {p: [(f"2020-03-0{i}", i) for i in range(1, 5)] for p in group.packages})
    svg = figure_bytes(draw_cluster(data, note=HOSTILE), "svg")
    root = svg_root(svg)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert b"<script" not in svg and b"&lt;script&gt;" in svg
    png = png_pixels(figure_bytes(draw_cluster(data, note=HOSTILE), "png"))
    assert png.std() > 0


def test_note_is_read_from_the_store_or_given(store: Store, tmp_path: Path) -> None:
    assert RECONSTRUCTION_NOTE in data_note(store)
    svg = figure_bytes(chart_figure("hourly", store, day=DAY, note=""), "svg")
    assert RECONSTRUCTION_NOTE.encode() not in svg
    svg = figure_bytes(chart_figure("hourly", store, day=DAY, note="real logs of somewhere"), "svg")
    assert b"real logs of somewhere" in svg


def test_bad_requests_write_nothing(store: Store, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="unknown chart"):
        write_chart("pie", store, tmp_path / "c.svg", day=DAY)
    with pytest.raises(BadInput, match="extension"):
        write_chart("daily", store, tmp_path / "c.jpg", day=DAY)
    with pytest.raises(BadInput, match="no package spiked"):
        write_chart("cluster", store, tmp_path / "c.svg", day=date(2020, 1, 10))
    with pytest.raises(BadInput, match="unknown chart parameter"):
        write_chart("daily", store, tmp_path / "c.svg", day=DAY, colour="red")
    assert not list(tmp_path.glob("c.*")) and not list(tmp_path.glob(".c.*"))
