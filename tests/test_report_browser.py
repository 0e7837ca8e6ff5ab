"""The report as a reader sees it: ``index.html`` opened in headless Chromium (Debian's ``/usr/bin/chromium``,
driven through playwright, which never downloads a browser of its own) loads with no console error and no
request leaving the file, every picture is drawn with a size, and the screenshot is not blank."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg
import numpy as np
import pytest

from depgraph.downloads.store import open_store
from depgraph.render.report import ReportResult, write_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VERMILLION = (0xD5, 0x5E, 0x00)  # the charts' spike colour

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium; bash .ci/setup installs it)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")

MEASURE = """() => {
  const images = Array.from(document.images).map(i => ({kind: 'img', complete: i.complete,
      width: i.naturalWidth, height: i.naturalHeight}));
  const svgs = Array.from(document.querySelectorAll('body > figure > svg, figure svg:not(svg svg)')).map(s => {
      const box = s.getBBox(), rect = s.getBoundingClientRect();
      return {kind: 'svg', complete: true, width: Math.min(box.width, rect.width),
              height: Math.min(box.height, rect.height)};
  });
  return images.concat(svgs);
}"""


@pytest.fixture(scope="module")
def built(reconstruction: tuple[Path, Path, int], tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    with open_store(reconstruction[1], read_only=True) as store:
        return write_report(store, date(2020, 3, 5), tmp_path_factory.mktemp("browser") / "report")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_the_report_opens_in_chromium(built: ReportResult, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    url = (built.out_dir / "index.html").as_uri()
    page.goto(url, wait_until="load")
    assert problems == []
    assert requests == [url], "the report asked for something besides itself"
    pictures = page.evaluate(MEASURE)
    assert sum(1 for p in pictures if p["kind"] == "svg") == 7
    for picture in pictures:
        assert picture["complete"] and picture["width"] > 50 and picture["height"] > 50, picture
    shot = page.screenshot(full_page=True)
    (tmp_path / "report.png").write_bytes(shot)
    pixels = (mpimg.imread(io.BytesIO(shot), format="png")[..., :3] * 255).round().astype(np.uint8)
    assert pixels.shape[0] > 3000, "the full page is far shorter than seven pictures"
    packed = (pixels[..., 0].astype(np.uint32) << 16) | (pixels[..., 1].astype(np.uint32) << 8) | pixels[..., 2]
    assert len(np.unique(packed)) > 100, "the screenshot is (nearly) blank"
    spike = np.all(np.abs(pixels.astype(int) - VERMILLION) <= 2, axis=-1)
    assert spike.sum() > 1000, "the charts' spike colour is missing: the charts were not drawn"
    page.close()


def test_the_markdown_pictures_open_as_images(built: ReportResult, browser: Any, tmp_path: Path) -> None:
    """The SVG files beside report.md, as an <img> of a Markdown viewer would show them."""
    page = browser.new_page()
    folder = tmp_path / "md"
    shutil.copytree(built.out_dir, folder)
    tags = "".join(f'<img src="{p}">' for p in built.pictures)
    (folder / "view.html").write_text(f"<!DOCTYPE html><html><body>{tags}</body></html>")
    page.goto((folder / "view.html").as_uri(), wait_until="load")
    pictures = page.evaluate(MEASURE)
    assert len(pictures) == 7
    for picture in pictures:
        assert picture["complete"] and picture["width"] > 50 and picture["height"] > 50, picture
    page.close()
