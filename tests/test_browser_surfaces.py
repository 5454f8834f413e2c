"""The other places a notebook is read, measured in headless Chromium (issue 21, last gaps):

- an *untrusted* reopened copy in JupyterLab: no element that looks like a link but does nothing
  (the sanitizer drops the download's handler); each picture says how to save it instead; the
  same copy trusted shows working download links and no hint;
- Notebook 7: a grid, a result and the panel's static copy at 1024 and 1280 px, no clipped tile,
  an opened picture inside the viewport and on top;
- nbconvert's HTML export of an executed grid: the same layout claims.

Heavy (a Jupyter server and a browser each): marked ``slow`` and ``browser``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from browser_support import (
    KERNELSPEC,
    jupyter_lab,
    lab_env,
    launch_chromium,
    require_browser,
    write_notebook,
)
from factories import image, make_result
from test_browser_layout import BOXES, ON_TOP, _untrusted_notebook

from venice_nb.display.html import mirror_html

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT_MS = 40_000
HEIGHT = 900

# Every <a> on screen in the outputs, what makes it work, and the save hints (shown or not).
LINKS = """
() => {
  const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const all = (sel) => outs.flatMap((o) => [...o.querySelectorAll(sel)]);
  return {
    links: all('a').filter(shown).map((a) => ({
      href: a.getAttribute('href'), download: a.hasAttribute('download'),
      onclick: a.hasAttribute('onclick'), text: a.textContent})),
    hints: all('.venice-nb-save-hint').map(shown),
    hintText: all('.venice-nb-save-hint').map((h) => h.textContent),
    images: all('img').length,
  };
}
"""


def _dead(link: dict) -> bool:
    """A link that does nothing when clicked: no target, or '#' (which Lab turns into a 404 of its
    files route, /files/%23) without a download handler."""
    href = (link["href"] or "").split("?")[0]
    works_as_download = link["download"] and link["onclick"]
    return not works_as_download and (not href or href.startswith("#") or href.endswith("/%23"))


@pytest.mark.timeout(300)
def test_untrusted_copy_has_no_dead_link_and_says_how_to_save(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with jupyter_lab(tmp_path) as lab, sync_playwright() as pw:
        notebook = lab.root / "untrusted.ipynb"
        _untrusted_notebook(notebook)
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": HEIGHT})
            page.goto(f"{lab.url}/lab/tree/untrusted.ipynb")
            imgs = page.locator(".jp-OutputArea-output img")
            expect(imgs).to_have_count(14, timeout=WAIT_MS)
            seen = page.evaluate(LINKS)
            assert seen["images"] == 14
            assert not [link for link in seen["links"] if _dead(link)], seen["links"]
            assert seen["hints"] == [True] * 14, seen  # one per picture, all on screen
            assert seen["hintText"][0] == "right-click \u2192 Save image as"
            page.close()

            # the same file trusted: working downloads, no hint
            subprocess.run(
                [sys.executable, "-m", "jupyter", "trust", str(notebook)],
                env=lab_env(tmp_path), check=True, capture_output=True, timeout=60,
            )  # fmt: skip
            page = browser.new_page(
                viewport={"width": 1280, "height": HEIGHT}, accept_downloads=True
            )
            page.goto(f"{lab.url}/lab/tree/untrusted.ipynb")
            expect(page.locator(".jp-OutputArea-output img")).to_have_count(14, timeout=WAIT_MS)
            seen = page.evaluate(LINKS)
            assert seen["hints"] == [False] * 14, seen
            downloads = [link for link in seen["links"] if link["download"]]
            assert len(downloads) == 14 and not [k for k in seen["links"] if _dead(k)], seen
            with page.expect_download(timeout=WAIT_MS) as info:
                page.locator("a.venice-nb-download").first.click()
            assert info.value.suggested_filename.endswith(".webp")
            page.close()
        finally:
            browser.close()


def _check_layout(page, outputs, counts: dict[int, int], width: int, expect) -> None:
    """No tile outside its output area; the last picture of each output opens inside the viewport
    and on top, and closes."""
    for n, count in counts.items():
        boxes = outputs.nth(n).evaluate(BOXES)
        left, right = boxes["area"]
        assert len(boxes["tiles"]) == count, (width, n, boxes)
        for tile_left, tile_right, tile_width in boxes["tiles"]:
            assert tile_width >= 60, (width, n, boxes)
            assert left - 1 <= tile_left and tile_right <= right + 1, (width, n, boxes)
    for n in counts:
        zoom = outputs.nth(n).locator(".venice-nb-zoom").last
        picture = zoom.locator("img")
        before = picture.bounding_box()["width"]
        zoom.locator("summary img").click()
        expect(zoom).to_have_attribute("open", "")
        # in the middle of the scroll area (Playwright's "if needed" leaves it a fraction of a
        # pixel past the bottom edge)
        picture.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(200)
        box = picture.bounding_box()
        assert box["width"] > before * 1.2, (width, n, before, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, n, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, (width, n, box)
        centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
        assert page.evaluate(ON_TOP, centre) == "IMG", (width, n)
        close = zoom.locator(".venice-nb-zoom-close").bounding_box()  # seen with the picture
        assert close["y"] >= box["y"] and close["y"] + close["height"] <= HEIGHT, (width, n, close)
        zoom.locator(".venice-nb-zoom-close").click()
        expect(zoom).not_to_have_attribute("open", "")


def _with_static_copy(path: Path) -> None:
    """The untrusted notebook plus the panel's static copy of a four-variant result."""
    notebook = json.loads(path.read_text())
    four = make_result(*(image("webp", (1024, 1024), seed=9 - i, index=i) for i in range(4)))
    output = {
        "output_type": "display_data",
        "data": {"text/html": mirror_html(four, 3), "text/plain": "VenicePanel"},
        "metadata": {},
    }
    notebook["cells"].append(
        {"cell_type": "code", "execution_count": 9, "id": "panel", "metadata": {},
         "outputs": [output], "source": "%venice panel"}
    )  # fmt: skip
    path.write_text(json.dumps(notebook))


@pytest.mark.timeout(300)
def test_notebook7_grids_and_static_copy_fit_and_open_on_top(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with jupyter_lab(tmp_path, app="notebook") as server, sync_playwright() as pw:
        path = server.root / "shared.ipynb"
        _untrusted_notebook(path)
        _with_static_copy(path)
        browser = launch_chromium(pw)
        try:
            for width in (1024, 1280):
                page = browser.new_page(viewport={"width": width, "height": HEIGHT})
                page.goto(f"{server.url}/notebooks/shared.ipynb")
                outputs = page.locator(".jp-OutputArea-output")
                expect(outputs.nth(3).locator("img")).to_have_count(4, timeout=WAIT_MS)
                page.wait_for_timeout(500)
                expect(outputs.nth(3)).to_contain_text("Venice image panel")
                _check_layout(page, outputs, {0: 4, 1: 8, 2: 2, 3: 4}, width, expect)
                page.close()
        finally:
            browser.close()


GRID_CELLS = [
    "%load_ext venice_nb",
    "%%venice -W 1024 -H 1024 -s 1:4\na lighthouse on a cliff",
    "%%venice -W 512 -H 512 -s 1,2 -c 4,6,8,10\na lighthouse on a cliff",
]


@pytest.mark.timeout(300)
def test_nbconvert_export_of_an_executed_grid_fits_and_opens_on_top(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    env = lab_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    notebook = write_notebook(work / "grid.ipynb", GRID_CELLS)
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--execute",
         "--ExecutePreprocessor.kernel_name=python3", str(notebook)],
        env=env, cwd=work, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    exported = notebook.with_suffix(".html")
    assert KERNELSPEC["name"] == "python3"
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            for width in (1024, 1280):
                page = browser.new_page(viewport={"width": width, "height": HEIGHT})
                page.goto(exported.as_uri())
                outputs = page.locator(".jp-OutputArea-output:has(.venice-nb-zoom)")
                expect(outputs).to_have_count(2, timeout=WAIT_MS)
                _check_layout(page, outputs, {0: 4, 1: 8}, width, expect)
                # a reader of the export (no sanitizer) gets the working link, not the hint
                assert not page.locator(".venice-nb-save-hint").first.is_visible()
                expect(page.locator("a.venice-nb-download").first).to_be_visible()
                page.close()
        finally:
            browser.close()
