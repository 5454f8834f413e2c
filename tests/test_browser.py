"""The panel in a real browser: JupyterLab in headless Chromium, driven by Playwright.

A notebook runs ``%load_ext venice_nb`` and ``%venice panel`` (no key, so the kernel starts the
local preview server), then the test clicks Generate, moves the cfg_scale and variants sliders with
the keyboard as a person would, generates again and checks the new images, and takes a screenshot.
It writes ``docs/panel.png`` only with ``VENICE_NB_UPDATE_SCREENSHOT=1``.

Skipped only on a developer machine without Chromium; with ``CI`` set a missing browser fails.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_support import (
    KERNELSPEC,
    jupyter_lab,
    launch_chromium,
    require_browser,
    write_notebook,
)

pytestmark = pytest.mark.slow  # a server, a browser or whole notebooks: not the fast loop

DOCS_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "panel.png"
WAIT_MS = 30_000


def _slider(panel, label: str):
    page = panel.page
    return panel.locator(".widget-slider", has=page.locator(".widget-label", has_text=label))


def _press(slider, key: str, times: int) -> None:
    handle = slider.locator(".noUi-handle")
    handle.focus()
    for _ in range(times):
        handle.press(key)


def _run_cell(page, index: int, expect) -> None:
    """Focus the cell's editor, run it, and wait until it has finished (``[n]:``) without error."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    editor = cell.locator(".cm-content")
    editor.click()
    expect(editor).to_be_focused()
    page.keyboard.press("Shift+Enter")
    prompt = cell.locator(".jp-InputArea-prompt")
    expect(prompt).to_have_text(re.compile(r"\[\d+\]:"), timeout=WAIT_MS)
    expect(cell.locator(".jp-OutputArea-output[data-mime-type*='stderr']")).to_have_count(0)
    expect(cell.locator(".jp-OutputArea-output[data-mime-type*='error']")).to_have_count(0)


def _diagnose(page, tmp_path: Path, log: str) -> None:
    """What a failure needs to be understood: any open dialog, a screenshot, the server log."""
    try:
        outputs = page.locator(".jp-OutputArea-output")
        for i in range(outputs.count()):
            print(f"cell output: {outputs.nth(i).inner_text()[:300]!r}")
        dialogs = page.locator(".jp-Dialog")
        for i in range(dialogs.count()):
            print(f"open dialog: {dialogs.nth(i).inner_text()!r}")
        page.screenshot(path=str(tmp_path / "failure.png"))
        print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
    except Exception as exc:  # diagnosis must not hide the real failure
        print(f"(no diagnosis: {exc})")
    print("JupyterLab log tail:\n" + log)


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_panel_generates_and_follows_the_sliders_in_jupyterlab(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with jupyter_lab(tmp_path) as lab, sync_playwright() as pw:
        write_notebook(lab.root / "panel.ipynb", ["%load_ext venice_nb", "%venice panel"])
        browser = launch_chromium(pw)
        outside: list[str] = []
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1300})
            page.on(
                "request",
                lambda r: (
                    outside.append(r.url)
                    if urlsplit(r.url).scheme in ("http", "https", "ws", "wss")
                    and urlsplit(r.url).hostname != "127.0.0.1"
                    else None
                ),
            )
            page.goto(f"{lab.url}/lab/tree/panel.ipynb")
            # The execution indicator reads "idle" while Lab still says "No Kernel | Initializing";
            # a cell run then is dropped. The status bar names the kernel once it is connected.
            expect(page.locator("#jp-main-statusbar")).to_contain_text(
                f"{KERNELSPEC['display_name']} | Idle", timeout=WAIT_MS
            )
            for index in (0, 1):
                _run_cell(page, index, expect)

            panel = page.locator(".venice-panel")
            expect(panel).to_be_visible(timeout=WAIT_MS)
            status = panel.locator(".venice-status")
            images = panel.locator(".venice-cell img")

            panel.locator(".widget-button", has_text="Generate").click()
            expect(status).to_contain_text("#1: 1 image", timeout=WAIT_MS)
            expect(images).to_have_count(1)
            expect(status).to_contain_text("default cfg")  # cfg is sent once the slider moves

            cfg, variants = _slider(panel, "cfg"), _slider(panel, "Variants")
            _press(cfg, "ArrowRight", 3)  # 5.0 -> 6.5 in 0.5 steps
            expect(cfg.locator(".widget-readout")).to_have_text("6.5")
            _press(variants, "ArrowRight", 2)  # 1 -> 3
            expect(variants.locator(".widget-readout")).to_have_text("3")
            # The kernel saw both moves: the cost line follows variants at once.
            expect(panel.locator(".venice-cost")).to_contain_text("Next: 3 images")

            panel.locator(".widget-button", has_text="Generate").click()
            expect(status).to_contain_text("#2: 3 images", timeout=WAIT_MS)
            expect(status).to_contain_text("cfg 6.5")
            expect(images).to_have_count(3)
            for i in range(3):  # decoded and laid out, not just present
                expect(images.nth(i)).to_have_js_property("complete", True)
                assert images.nth(i).evaluate("img => img.naturalWidth") > 0
            expect(panel.locator(".venice-history-item")).to_have_count(2)
            expect(panel.locator(".venice-timing")).to_contain_text("inference")

            target = (
                DOCS_SCREENSHOT
                if os.environ.get("VENICE_NB_UPDATE_SCREENSHOT") == "1"
                else tmp_path / "panel.png"
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            panel.screenshot(path=str(target))
            assert target.stat().st_size > 10_000
        except Exception:
            _diagnose(page, tmp_path, lab.log_tail())
            raise
        finally:
            browser.close()
        assert not outside, f"the page reached outside 127.0.0.1: {outside[:5]}"
