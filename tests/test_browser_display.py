"""What people see, measured in a real browser: JupyterLab in headless Chromium.

- Sweep grids: equal tile widths, labels centred on their column/row and on one line, one titled
  sub-grid per value of a third axis, no <table>; the zoom grows the picture in place and it stays
  in the viewport; on a slow server tiles appear while the cell is still running.
- The panel: no horizontal overflow at 1024 px with the file browser open; its latest result is
  mirrored (hidden while the live panel shows) into static HTML that a saved notebook, reopened, and its nbconvert HTML both show;
  text contrast of at least 4.5:1 in the dark theme.

Heavy (a Lab server and a browser each): marked ``slow``; run this file on its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser_support import (
    KERNELSPEC,
    jupyter_lab,
    launch_chromium,
    require_browser,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT_MS = 40_000
SHOTS = Path(os.environ.get("VENICE_NB_SHOTS", "")) if os.environ.get("VENICE_NB_SHOTS") else None


def _open(page, lab, name: str, expect) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}")
    expect(page.locator("#jp-main-statusbar")).to_contain_text(
        f"{KERNELSPEC['display_name']} | Idle", timeout=WAIT_MS
    )


def _run(page, index: int, expect, wait: bool = True) -> None:
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    editor = cell.locator(".cm-content")
    editor.click()
    expect(editor).to_be_focused()
    page.keyboard.press("Shift+Enter")
    if wait:
        prompt = cell.locator(".jp-InputArea-prompt")
        expect(prompt).to_have_text(re.compile(r"\[\d+\]:"), timeout=WAIT_MS)
        expect(cell.locator(".jp-OutputArea-output[data-mime-type*='error']")).to_have_count(0)


def _shot(page_or_locator, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page_or_locator.screenshot(path=str(SHOTS / name))


MEASURE_GRID = """
(out) => {
  const box = (e) => e.getBoundingClientRect();
  const grids = [...out.querySelectorAll('.venice-nb-grid')];
  return grids.map((g) => {
    const slots = [...g.querySelectorAll(':scope > .venice-nb-slot')];
    const cols = [...g.querySelectorAll(':scope > .venice-nb-col-label')];
    const rows = [...g.querySelectorAll(':scope > .venice-nb-row-label')];
    const n = cols.length;
    return {
      tiles: slots.map((s) => box(s.querySelector('img, .venice-nb-failed') || s).width),
      colOffsets: cols.map((c, i) => {
        const mine = slots.filter((_, k) => k % n === i).map(box);
        const centre = mine.reduce((a, r) => a + r.left + r.width / 2, 0) / mine.length;
        return Math.abs(box(c).left + box(c).width / 2 - centre);
      }),
      rowOffsets: rows.map((r, i) => {
        const mine = slots.slice(i * n, (i + 1) * n).map(box);
        const centre = mine.reduce((a, s) => a + s.top + s.height / 2, 0) / mine.length;
        return Math.abs(box(r).top + box(r).height / 2 - centre);
      }),
      labelLines: [...cols, ...rows].map((l) => Math.round(box(l).height / parseFloat(getComputedStyle(l).lineHeight || '16'))),
      textAlign: [...cols, ...rows].map((l) => getComputedStyle(l).textAlign),
    };
  });
}
"""


@pytest.mark.timeout(300)
def test_sweep_grids_zoom_and_tiles_that_fill_in(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    cells = [
        "%load_ext venice_nb\n%config VeniceMagics.thumb_size = 160",
        "%%venice -W 256 -H 256 -s 1,2 -c 4,8\na lighthouse on a cliff",
        '%%venice -W 256 -H 192 -s 1,2 -c 4,8 --style "Anime,Pixel Art"\na lighthouse on a cliff',
        "from venice_nb.server import shared_server\nshared_server().latency = 1.2\n"
        "get_ipython().run_line_magic('config', 'VeniceMagics.concurrency = 1')",
        "%%venice -W 256 -H 256 -s 11:13 --no-cache\na slow lighthouse",
    ]
    with jupyter_lab(tmp_path) as lab, sync_playwright() as pw:
        write_notebook(lab.root / "grids.ipynb", cells)
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            _open(page, lab, "grids.ipynb", expect)
            for index in range(4):
                _run(page, index, expect)
            outputs = page.locator(".jp-Notebook .jp-Cell")
            two, three = outputs.nth(1), outputs.nth(2)
            expect(two.locator(".venice-nb-grid img")).to_have_count(4)
            expect(three.locator(".venice-nb-grid img")).to_have_count(8)
            assert two.locator("table").count() == 0 and three.locator("table").count() == 0

            for cell, grids in ((two, 1), (three, 2)):
                measured = cell.locator(".jp-OutputArea").evaluate(MEASURE_GRID)
                assert len(measured) == grids
                for grid in measured:
                    assert len(set(round(w) for w in grid["tiles"])) == 1, grid["tiles"]
                    assert max(grid["colOffsets"]) <= 2, grid["colOffsets"]
                    assert max(grid["rowOffsets"]) <= 2, grid["rowOffsets"]
                    assert set(grid["labelLines"]) == {1}, grid["labelLines"]
                    assert set(grid["textAlign"]) == {"center"}
            titles = three.locator(".venice-nb-page-title").all_inner_texts()
            assert titles == ["style_preset=Anime", "style_preset=Pixel Art"]
            expect(three.locator(".venice-nb-legend")).to_contain_text("sub-grids: style_preset")
            _shot(two.locator(".jp-OutputArea"), "grid-2-axes.png")
            _shot(three.locator(".jp-OutputArea"), "grid-3-axes.png")

            # zoom: a click grows the thumbnail to its embedded size, in place and on screen
            first = two.locator(".venice-nb-zoom").first
            img = first.locator("img")
            assert round(img.bounding_box()["width"]) == 160
            first.locator("summary").click()
            expect(first).to_have_attribute("open", "")
            grown = img.bounding_box()
            assert round(grown["width"]) == 256, grown
            assert grown["x"] >= 0 and grown["x"] + grown["width"] <= 1280
            _shot(two.locator(".jp-OutputArea"), "grid-zoomed.png")
            first.locator("summary").click()
            assert round(img.bounding_box()["width"]) == 160

            # a slow server: tiles appear while the cell is still running
            _run(page, 4, expect, wait=False)
            slow = outputs.nth(4)
            expect(slow.locator(".venice-nb-pending")).to_have_count(3, timeout=WAIT_MS)
            expect(slow.locator(".venice-nb-grid img")).to_have_count(1, timeout=WAIT_MS)
            assert slow.locator(".venice-nb-pending").count() >= 1
            assert slow.locator(".jp-InputArea-prompt").inner_text().strip() == "[*]:"
            _shot(slow, "grid-filling-in.png")
            expect(slow.locator(".jp-InputArea-prompt")).to_have_text(
                re.compile(r"\[\d+\]:"), timeout=WAIT_MS
            )
            expect(slow.locator(".venice-nb-grid img")).to_have_count(3)
            assert slow.locator(".venice-nb-pending").count() == 0
        finally:
            browser.close()


CONTRAST = """
(root) => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (e) => { for (; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c[3] > 0.5) return c; } return [255, 255, 255, 1]; };
  const opacity = (e) => { let o = 1; for (; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity); return o; };
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode; const e = node.parentElement;
    if (!node.textContent.trim() || !e || !e.getClientRects().length) continue;
    if (e.closest('.venice-previous') || e.closest('.venice-nb-badge') || e.closest('button') || e.closest('.venice-nb-zoom')) continue;
    const fg = parse(getComputedStyle(e).color); const bg = background(e);
    const a = fg[3] * opacity(e);
    const mixed = [0, 1, 2].map((i) => fg[i] * a + bg[i] * (1 - a));
    const [l1, l2] = [lum(mixed), lum(bg)].sort((x, y) => y - x);
    out.push({ text: node.textContent.trim().slice(0, 40), ratio: (l1 + 0.05) / (l2 + 0.05) });
  }
  return out;
}
"""


@pytest.mark.timeout(300)
def test_panel_persists_wraps_and_reads_in_the_dark_theme(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    cells = ["%load_ext venice_nb", "%venice panel -W 256 -H 256 -n 2"]
    with jupyter_lab(tmp_path) as lab, sync_playwright() as pw:
        notebook = write_notebook(lab.root / "panel.ipynb", cells)
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 900})
            _open(page, lab, "panel.ipynb", expect)
            for index in range(2):
                _run(page, index, expect)
            panel = page.locator(".venice-panel")
            expect(panel).to_be_visible(timeout=WAIT_MS)
            panel.locator(".widget-button", has_text="Generate").click()
            mirror = page.locator(".venice-nb-panel-mirror")
            expect(mirror.locator("img")).to_have_count(2, timeout=WAIT_MS)
            expect(mirror).to_contain_text("result #1")
            expect(mirror).to_be_hidden()  # for readers without a kernel: hidden while live
            # no horizontal overflow at 1024 px (file browser open): the results wrap instead
            assert page.locator(".jp-FileBrowser").first.is_visible()
            overflow = panel.evaluate(
                "p => ({scroll: p.scrollWidth, client: p.clientWidth,"
                " right: p.getBoundingClientRect().right,"
                " area: p.closest('.jp-OutputArea-output').getBoundingClientRect().right})"
            )
            assert overflow["scroll"] <= overflow["client"] + 1, overflow
            assert overflow["right"] <= overflow["area"] + 1, overflow
            _shot(page, "panel-1024.png")

            # saved, then opened again (a copy, so nothing of the live session is reused)
            before = notebook.stat().st_mtime_ns
            page.locator(".jp-Notebook .jp-Cell").nth(0).click()
            page.keyboard.press("Control+s")
            page.wait_for_function("() => true")
            for _ in range(100):
                if notebook.stat().st_mtime_ns != before:
                    break
                page.wait_for_timeout(100)
            page.wait_for_timeout(500)
            saved = json.loads(notebook.read_text())
            html_outputs = [
                "".join(o["data"]["text/html"])  # nbformat may store it as a list of lines
                for c in saved["cells"]
                for o in c.get("outputs", [])
                if "text/html" in o.get("data", {})
            ]
            mirrors = [h for h in html_outputs if "venice-nb-panel-mirror" in h]
            assert [h.count("<img") for h in mirrors] == [2], [h[:300] for h in mirrors]
            copy = lab.root / "shared-copy.ipynb"
            shutil.copy(notebook, copy)
            reopened = browser.new_page(viewport={"width": 1024, "height": 900})
            reopened.goto(f"{lab.url}/lab/tree/shared-copy.ipynb")
            # Lab's workspace reopens panel.ipynb in a tab beside the copy, and its panel comes
            # back live from the running kernel: its stylesheet is then in this page too, and must
            # hide only its own copy, not the copy in the other notebook (CI met this race).
            expect(reopened.locator(".venice-panel")).to_have_count(1, timeout=WAIT_MS)
            copy_tab = reopened.get_by_role("tabpanel", name="shared-copy.ipynb")
            images = copy_tab.locator(".venice-nb-panel-mirror img")
            expect(images).to_have_count(2, timeout=WAIT_MS)
            expect(images.first).to_be_visible()  # for a reader without a kernel: shown
            for i in range(2):
                expect(images.nth(i)).to_have_js_property("complete", True)
                assert images.nth(i).evaluate("img => img.naturalWidth") == 256
            _shot(reopened, "panel-reopened.png")
            reopened.close()

            # nbconvert's HTML shows the same pictures
            subprocess.run(
                [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(copy)],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
            exported = copy.with_suffix(".html")
            html_page = browser.new_page(viewport={"width": 1024, "height": 900})
            html_page.goto(exported.as_uri())
            shown = html_page.locator(".venice-nb-panel-mirror img")
            expect(shown).to_have_count(2)
            expect(shown.first).to_be_visible()
            assert shown.first.evaluate("img => img.naturalWidth") == 256
            _shot(html_page, "panel-nbconvert.png")
            html_page.close()

            # the dark theme: every text of the panel and its copy reads at 4.5:1 or better
            page.get_by_text("Settings", exact=True).first.click()
            page.get_by_text("Theme", exact=True).first.hover()
            page.get_by_text("JupyterLab Dark", exact=True).first.click()
            page.wait_for_function(
                "() => document.body.dataset.jpThemeLight === 'false'", timeout=WAIT_MS
            )
            page.wait_for_timeout(500)
            for target in (panel,):  # the static copy is hidden while the panel is live
                ratios = target.evaluate(CONTRAST)
                # text only: the timing legend's colour swatches are keys next to their labels
                low = [r for r in ratios if r["text"] != "\u25a0" and r["ratio"] < 4.5]
                assert ratios and not low, low[:5]
            _shot(page, "panel-dark.png")
        finally:
            browser.close()


def test_download_link_saves_the_picture_as_received_under_its_readable_name(tmp_path: Path):
    """The link holds no copy of the image: Chromium must still download the exact bytes."""
    require_browser()
    from factories import image, make_result
    from playwright.sync_api import sync_playwright

    from venice_nb.display import html as display

    im = image("webp", (300, 200), seed=42)
    bundle = display.result_bundle(make_result(im), preview_size=1024)[0]["text/html"]
    page_file = tmp_path / "result.html"
    page_file.write_text(f"<!doctype html><html><body>{bundle}</body></html>")
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(accept_downloads=True)
            page.goto(page_file.as_uri())
            with page.expect_download(timeout=WAIT_MS) as info:
                page.click("a.venice-nb-download")
            download = info.value
            assert download.suggested_filename.lower() == "z-image-turbo-seed-42.webp"
            assert Path(download.path()).read_bytes() == im.data
        finally:
            browser.close()
