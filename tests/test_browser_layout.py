"""Layout claims measured in a real browser, on outputs as an *untrusted* notebook shows them
(written to disk with their outputs and opened in JupyterLab: its sanitizer has the last word).

- No tile is cut off at 1024 and 1280 px: every picture's box lies inside its output area, for a
  single-axis gallery (four seeds, the tutorials' ``--seed 1:4``), a 2 x 4 grid of models and a
  result with two variants.
- An opened picture lies inside the viewport and on top (``elementFromPoint`` at its centre is
  the picture), with a close bar that closes it.

Heavy (a Lab server and a browser): marked ``slow``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from browser_support import (
    KERNELSPEC,
    jupyter_lab,
    launch_chromium,
    require_browser,
    write_notebook,
)
from factories import image

from venice_nb.display.grid import sweep_bundle
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GenerationResult, SweepCell, SweepResult, Timing

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT_MS = 40_000
# VENICE_NB_DOCS=docs refreshes the README's pictures from these tests
DOCS = Path(os.environ["VENICE_NB_DOCS"]) if os.environ.get("VENICE_NB_DOCS") else None
MODELS = ("z-image-turbo", "qwen-image-2512", "hidream", "flux-2-max")


def _cell(params: dict, index: int) -> SweepCell:
    request = GenerateRequest(
        model=params.get("model", "z-image-turbo"), prompt="a lighthouse", seed=params["seed"]
    )
    picture = image("webp", (1024, 1024), seed=params["seed"], index=index)
    timing = Timing(inference_ms=300.0, wall_ms=400.0)
    return SweepCell(params, result=GenerationResult(request, [picture], timing=timing))


def _sweeps() -> list[SweepResult]:
    gallery = SweepResult([_cell({"seed": s}, s) for s in (1, 2, 3, 4)], wall_ms=500.0)
    pairs = [(s, m) for s in (1, 2) for m in MODELS]
    grid = SweepResult(
        [_cell({"seed": s, "model": m}, i) for i, (s, m) in enumerate(pairs)],
        rows="seed", cols="model", wall_ms=500.0,
    )  # fmt: skip
    return [gallery, grid]


def _untrusted_notebook(path: Path) -> None:
    """Outputs written straight to disk: no signature, so Lab opens them untrusted (sanitized)."""
    from factories import make_result

    from venice_nb.display.html import result_bundle

    pair = make_result(*(image("webp", (1024, 1024), seed=5 - i, index=i) for i in range(2)))
    bundles = [sweep_bundle(sweep, preview_size=1024, thumb_size=320) for sweep in _sweeps()]
    bundles.append(result_bundle(pair, preview_size=1024, thumb_size=320))
    cells = []
    for i, (data, meta) in enumerate(bundles):
        output = {"output_type": "display_data", "data": data, "metadata": meta}
        cells.append(
            {"cell_type": "code", "execution_count": i + 1, "id": f"c{i}", "metadata": {},
             "outputs": [output], "source": f"# sweep {i}"}
        )  # fmt: skip
    notebook = {"cells": cells, "metadata": {"kernelspec": KERNELSPEC},
                "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    path.write_text(json.dumps(notebook))


BOXES = """
(out) => {
  const area = out.getBoundingClientRect();
  return {area: [area.left, area.right],
          tiles: [...out.querySelectorAll('img')].map((i) => {
            const b = i.getBoundingClientRect(); return [b.left, b.right, b.width]; })};
}
"""
ON_TOP = "([x, y]) => { const e = document.elementFromPoint(x, y); return e && e.tagName; }"


@pytest.mark.timeout(300)
def test_no_tile_is_cut_off_and_an_opened_picture_is_on_screen_and_on_top(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with jupyter_lab(tmp_path) as lab, sync_playwright() as pw:
        _untrusted_notebook(lab.root / "untrusted.ipynb")
        browser = launch_chromium(pw)
        try:
            for width in (1024, 1280):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(f"{lab.url}/lab/tree/untrusted.ipynb")
                outputs = page.locator(".jp-OutputArea-output")
                expect(outputs.nth(1).locator("img")).to_have_count(8, timeout=WAIT_MS)
                page.wait_for_timeout(500)
                for n, count in ((0, 4), (1, 8), (2, 2)):
                    boxes = outputs.nth(n).evaluate(BOXES)
                    left, right = boxes["area"]
                    assert len(boxes["tiles"]) == count
                    for tile_left, tile_right, tile_width in boxes["tiles"]:
                        assert tile_width >= 60, (width, n, boxes)
                        assert left - 1 <= tile_left and tile_right <= right + 1, (width, n, boxes)
                    if n == 1:  # the grid's tiles are all one size
                        assert len({round(w) for *_, w in boxes["tiles"]}) == 1, boxes
                # the last tile of each output opens inside the viewport, on top, and closes
                for n in (0, 1, 2):
                    zoom = outputs.nth(n).locator(".venice-nb-zoom").last
                    picture = zoom.locator("img")
                    before = picture.bounding_box()["width"]
                    zoom.locator("summary img").click()
                    expect(zoom).to_have_attribute("open", "")
                    picture.scroll_into_view_if_needed()
                    box = picture.bounding_box()
                    assert box["width"] > before * 1.3, (before, box)
                    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)
                    assert box["y"] >= 0 and box["y"] + box["height"] <= 900, (width, box)
                    centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
                    assert page.evaluate(ON_TOP, centre) == "IMG"
                    close = zoom.locator(".venice-nb-zoom-close")
                    expect(close).to_be_visible()
                    close.click()
                    expect(zoom).not_to_have_attribute("open", "")
                    assert abs(picture.bounding_box()["width"] - before) <= 1
                page.close()
        finally:
            browser.close()


PANEL_BOXES = """
(panel) => {
  const cells = [...document.querySelectorAll('.venice-cell')].map((c) => c.getBoundingClientRect());
  const box = panel.getBoundingClientRect();
  return {height: box.height, top: box.top, rows: new Set(cells.map((c) => Math.round(c.top))).size,
          bottoms: cells.map((c) => c.bottom), count: cells.length};
}
"""


def _run_cells(page, count: int, expect) -> None:
    import re

    for index in range(count):
        cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
        editor = cell.locator(".cm-content")
        editor.click()
        page.keyboard.press("Shift+Enter")
        expect(cell.locator(".jp-InputArea-prompt")).to_have_text(
            re.compile(r"\[\d+\]:"), timeout=WAIT_MS
        )


@pytest.mark.timeout(300)
def test_panel_with_four_variants_fits_one_screen_and_enlarge_opens_on_top(tmp_path: Path) -> None:
    """At 1024 px: tiles two or more per row, the whole result on screen under the panel's top,
    the panel under a height bound; Enlarge opens inside the viewport, over everything."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    cells = ["%load_ext venice_nb", "%venice panel -W 512 -H 512 -n 4 -s 7"]
    with jupyter_lab(tmp_path) as lab, sync_playwright() as pw:
        write_notebook(lab.root / "panel.ipynb", cells)
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 900})
            page.goto(f"{lab.url}/lab/tree/panel.ipynb")
            expect(page.locator("#jp-main-statusbar")).to_contain_text(
                f"{KERNELSPEC['display_name']} | Idle", timeout=WAIT_MS
            )
            _run_cells(page, 2, expect)
            panel = page.locator(".venice-panel")
            expect(panel).to_be_visible(timeout=WAIT_MS)
            panel.locator(".widget-button", has_text="Generate").click()
            expect(panel.locator(".venice-cell img")).to_have_count(4, timeout=WAIT_MS)
            page.wait_for_timeout(500)
            panel.evaluate("p => p.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(300)
            measured = panel.evaluate(PANEL_BOXES)
            assert measured["count"] == 4 and measured["rows"] <= 2, measured
            assert measured["height"] <= 1350, measured  # with the form under it; was ~2,000 px
            # the newest result on screen under the panel's top (file browser open, too)
            assert max(measured["bottoms"]) <= 900 + 1, measured
            if DOCS is not None:  # the README's picture: form and results side by side
                page.set_viewport_size({"width": 1440, "height": 1000})
                page.wait_for_timeout(500)
                panel.evaluate("p => p.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(300)
                page.screenshot(path=str(DOCS / "panel.png"))
                page.set_viewport_size({"width": 1024, "height": 900})
                page.wait_for_timeout(500)

            panel.locator(".venice-cell .widget-button").first.click()  # Enlarge (an icon)
            big = page.locator(".venice-viewer-open img")
            expect(big).to_be_visible(timeout=WAIT_MS)
            page.wait_for_timeout(300)
            box = big.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1024, box
            assert box["y"] >= 0 and box["y"] + box["height"] <= 900, box
            centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
            assert page.evaluate(ON_TOP, centre) == "IMG"
            page.locator(".venice-viewer-open .widget-button", has_text="Close").click()
            expect(page.locator(".venice-viewer-open")).to_have_count(0)
        finally:
            browser.close()
