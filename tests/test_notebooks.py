"""The teaching notebooks: committed clean, and each runs top to bottom with no key.

Each notebook is executed once (module fixture) by ``scripts/run_notebook.py`` in a fresh kernel on
the local preview backend: ``VENICE_API_KEY`` is set in this process to a marker value and must be
dropped from the kernel (and never show up in the executed notebook), and every HTTP proxy points
at a closed port with only loopback exempt, so any request leaving 127.0.0.1 fails the run.
The assertions read the outputs: images as data URIs in HTML, printed values, widget state.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # a server, a browser or whole notebooks: not the fast loop

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
EXPECTED = [
    "classroom.ipynb",
    "image-toolbox.ipynb",
    "interactive-panel.ipynb",
    "openai-compatible.ipynb",
    "prompt-batches.ipynb",
    "quickstart.ipynb",
    "sweeps.ipynb",
]
# Images each notebook shows as <img src="data:..."> in its HTML outputs (the panel's are widgets).
HTML_IMAGES = {
    "quickstart.ipynb": 9,  # 1 + 2 sizing + 1 interpolated + 2 seeded + 1 negative + 2 variants
    "sweeps.ipynb": 25,  # 4 seeds + 2x3 grid + 3 models + 4 styles + 8 confirmed with --yes
    "openai-compatible.ipynb": 3,  # --openai + 2 native variants
    "interactive-panel.ipynb": 2,  # the open panel's static copy: its latest two variants
    # shot, edit, compare (before + after), upscale, cut-out, multi-edit, styled
    "image-toolbox.ipynb": 8,
    "classroom.ipynb": 3,  # one generation per student through the gateway
    # search/replace 4 + text file 4 + CSV 3 + batch 60 + the same batch again 60 + resumed 40
    # (its progress line keeps its gallery, as a bound Python batch must) + `night` shown 40
    "prompt-batches.ipynb": 211,
}
MARKER_KEY = "vnc-marker-key-must-never-leak-7f3a"
DEAD_PROXY = "http://127.0.0.1:9"  # discard port: nothing listens, a proxied request fails fast
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
DATA_URI_IMG = re.compile(r"<img[^>]*\ssrc=\"data:image/(webp|png|jpeg);base64,([A-Za-z0-9+/=]+)\"")


def _load(name: str) -> Any:
    """A module from scripts/ (not a package), registered so dataclasses can resolve it."""
    module_name = f"_scripts_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


runner = _load("run_notebook")
checker = _load("check_notebooks")


def offline_env(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    """This process's env as the kernel will inherit it: a key to drop, proxies to nowhere."""
    monkeypatch.setenv("VENICE_API_KEY", MARKER_KEY)
    monkeypatch.setenv("VENICE_BASE_URL", "https://api.venice.ai/api/v1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_dir))
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.setenv(name, DEAD_PROXY)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def kernel_processes() -> list[psutil.Process]:
    """Kernels this process started that are still running (exited ones are skipped)."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "ipykernel_launcher" in proc.cmdline() and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


@dataclass
class Run:
    nb: Any
    summary: Any
    workdir: Path

    def cell(self, startswith: str) -> Any:
        """The first code cell whose source starts with ``startswith``."""
        for cell in self.nb.cells:
            if cell.cell_type == "code" and cell.source.startswith(startswith):
                return cell
        raise AssertionError(f"no code cell starts with {startswith!r}")

    def text(self, cell: Any) -> str:
        """Everything a cell printed or showed as text/plain."""
        parts = []
        for output in cell.outputs:
            if output.output_type == "stream":
                parts.append(output.text)
            elif "data" in output:
                parts.append(output.data.get("text/plain", ""))
        return "\n".join(parts)


def html_images(outputs: list[Any]) -> list[tuple[str, bytes]]:
    """(format, bytes) of every data-URI <img> in the outputs' HTML."""
    found = []
    for output in outputs:
        html = output.get("data", {}).get("text/html", "")
        html = "".join(html) if isinstance(html, list) else html
        for fmt, data in DATA_URI_IMG.findall(html):
            found.append((fmt, base64.b64decode(data)))
    return found


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``executed(name)`` runs a notebook once per module and returns its ``Run``."""
    runs: dict[str, Run] = {}

    def run(name: str) -> Run:
        if name not in runs:
            workdir = tmp_path_factory.mktemp(name.removesuffix(".ipynb"))
            with pytest.MonkeyPatch.context() as mp:
                offline_env(mp, workdir / "cache")
                nb, summary = runner.run_notebook(
                    NB_DIR / name, workdir / name, timeout=120, drop_key=True
                )
            runs[name] = Run(nb, summary, workdir)
        return runs[name]

    return run


# ---- the committed files ---------------------------------------------------------------------


def test_the_teaching_notebooks_are_there() -> None:
    assert sorted(p.name for p in NB_DIR.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_committed_notebook_has_no_outputs_counts_or_widget_state(name: str) -> None:
    nb = nbformat.read(NB_DIR / name, as_version=4)
    nbformat.validate(nb)
    assert checker.problems(nb) == []
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_the_checker_finds_and_strips_a_run_notebook(executed: Any, tmp_path: Path) -> None:
    run = executed("openai-compatible.ipynb")
    path = tmp_path / "dirty.ipynb"
    nbformat.write(run.nb, path)
    assert checker.main([str(path)]) == 1
    assert checker.main(["--strip", str(path)]) == 0
    assert checker.main([str(path)]) == 0
    assert checker.problems(nbformat.read(path, as_version=4)) == []


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_opens_with_where_the_key_goes(name: str) -> None:
    nb = nbformat.read(NB_DIR / name, as_version=4)
    intro = [c.source for c in nb.cells[:3] if c.cell_type == "markdown"]
    key_cell = next((s for s in intro if "VENICE_API_KEY" in s), None)
    assert key_cell is not None, "one of the first cells must say where the key goes"
    for phrase in ("venice.ai", "export VENICE_API_KEY", "%venice login", "local preview"):
        assert phrase in key_cell
    assert "Never type the key into a cell" in key_cell


@pytest.mark.parametrize("name", EXPECTED)
def test_no_cell_sets_a_key(name: str) -> None:
    nb = nbformat.read(NB_DIR / name, as_version=4)
    setting = re.compile(r"VENICE_API_KEY['\"]?\]?\s*=|%env\s+VENICE_API_KEY|%set_env")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not setting.search(cell.source), cell.source


# ---- running them ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_top_to_bottom_without_a_key(executed: Any, name: str) -> None:
    run = executed(name)
    code = [c for c in run.nb.cells if c.cell_type == "code"]
    assert run.summary.errors == []
    assert run.summary.cells_run == len(code)
    assert all(c.execution_count is not None for c in code)
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not [s for s in stderr if "Error" in s or "Traceback" in s], stderr
    images = html_images(outputs)
    assert len(images) == HTML_IMAGES[name]
    for fmt, data in images:  # every preview decodes as the format its data URI claims
        with Image.open(BytesIO(data)) as im:
            assert im.format.lower() == fmt and min(im.size) > 0
    dumped = json.dumps(run.nb)
    assert MARKER_KEY not in dumped
    if images:
        assert "local preview" in dumped


def test_quickstart_shows_reproducible_seeds_and_saved_files(executed: Any) -> None:
    run = executed("quickstart.ipynb")
    assert "seeds: 42 42" in run.text(run.cell("from PIL import ImageChops"))
    assert "same pixels: True" in run.text(run.cell("from PIL import ImageChops"))
    assert "images: 2 size: (512, 512) format: webp" in run.text(run.cell("print(shot)"))
    saved = sorted(p.name for p in (run.workdir / "venice-images").iterdir())
    assert [n.rsplit(".", 1)[1] for n in saved] == ["json", "webp", "json", "webp"]
    sidecar = json.loads(run.text(run.cell("print(paths[0]")))
    assert sidecar["backend"] == "local preview"
    assert sidecar["request"]["prompt"].startswith("A paper boat")
    models = run.cell("%venice models").outputs[0].data["text/html"]
    assert "z-image-turbo" in models and "qwen-image-2" in models
    first = html_images(run.cell("%%venice -W 512 -H 512 --seed 42 -o first").outputs)
    second = html_images(run.cell("%%venice -W 512 -H 512 --seed 42 --no-cache").outputs)
    assert len(first) == 1
    assert first == second  # same seed, same bytes on the local preview


def test_panel_notebook_stores_widget_state_with_images(executed: Any) -> None:
    run = executed("interactive-panel.ipynb")
    state = run.nb.metadata.widgets[WIDGET_STATE]["state"]
    views = [
        o.data["application/vnd.jupyter.widget-view+json"]["model_id"]
        for c in run.nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(views) == 2  # %venice panel and Panel(...)
    assert all(model_id in state for model_id in views)  # each view can be rendered from state
    pictures = []
    for model in state.values():
        if model["model_name"] == "ImageModel":
            for buffer in model.get("buffers", []):
                with Image.open(BytesIO(base64.b64decode(buffer["data"]))) as im:
                    pictures.append(im.size)
    assert pictures.count((512, 512)) >= 2  # the grid's two variants (history thumbnails aside)
    assert "<GenerationResult 2 images" in run.text(run.cell("panel.cfg_scale.value = 7.5"))
    stepped = run.text(run.cell("panel.seed.value += 1"))
    assert "seeds shown: [4, None]" in stepped and "history: 2 generations" in stepped


def test_sweeps_notebook_grids_and_cost_guard(executed: Any) -> None:
    run = executed("sweeps.ipynb")
    grid = run.cell("%%venice -W 384 -H 384 --seed 1,2 --cfg-scale 3:9:3")
    assert len(html_images(grid.outputs)) == 6
    html = "".join(o.data.get("text/html", "") for o in grid.outputs if "data" in o)
    html = html.replace("<wbr>", "")  # column labels may break after "="
    assert "cfg_scale=9" in html and "seed=2" in html  # labelled rows and columns
    listed = run.text(run.cell("for cell in grid.cells:\n    print"))
    assert listed.count("->") == 6 and "{'seed': 2, 'cfg_scale': 9.0} -> 2" in listed
    assert "$0.20" in run.text(run.cell("from venice_nb import get_session"))
    refused = run.text(run.cell("%config VeniceMagics.cost_limit_usd = 0.05"))
    assert "above the limit of $0.05" in refused and "--yes" in refused
    assert len(html_images(run.cell("%%venice -W 256 -H 256 --seed 1:8 --yes").outputs)) == 8


def test_toolbox_notebook_shows_each_step_with_its_lineage(executed: Any) -> None:
    run = executed("image-toolbox.ipynb")
    edit = run.cell("%%venice edit -i shot")
    html = "".join(o.data.get("text/html", "") for o in edit.outputs if "data" in o)
    assert "Edit of shot" in html and "qwen-image-2-edit" in html
    assert len(html_images(run.cell("night.compare()").outputs)) == 2  # before and after
    sizes = run.text(run.cell("print(big.image.size"))
    assert "(2048, 2048) from (1024, 1024)" in sizes and "Upscale 2x of night" in sizes
    assert "png RGBA" in run.text(run.cell("print(cutout.image.format"))
    cut = run.cell("%venice remove-background shot")
    assert "repeating-conic-gradient" in "".join(
        o.data.get("text/html", "") for o in cut.outputs if "data" in o
    )
    assert "Multi-edit (flux-2-max-edit)" in run.text(run.cell("import venice_nb"))
    assert "flux-2-max-edit" in run.text(run.cell("%venice models --type edit"))
    sidecar = run.text(run.cell("import json"))
    assert '"operation": "upscale"' in sidecar and '"label": "night"' in sidecar


def test_prompt_batches_notebook_resumes_and_writes_sheets(executed: Any) -> None:
    run = executed("prompt-batches.ipynb")
    assert "prompt: A lighthouse on a cliff at dusk" in json.dumps(
        run.cell("%%venice -W 256 -H 256 --seed 7 --prompt-sr").outputs
    )
    assert "60 rows: {'done'}" in run.text(run.cell("import json"))
    rerun = "%%venice -W 256 -H 256 --seed 5 --prompts subjects --batch lesson-batch\n"
    again = json.dumps(run.cell(rerun).outputs)
    assert "resuming: 60 of 60" in again and "0 sent by this run" in again
    stopped = run.text(run.cell("import os\nimport signal"))
    done_first = int(stopped.split(" of 40 done")[0].split()[-1])
    assert 10 <= done_first < 40
    resumed = run.text(run.cell("night = venice_nb.batch"))
    assert f"{40 - done_first} sent by this run; 40 of 40 done; 0 failed" in resumed
    lines = (run.workdir / "night-batch" / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 40 and all('"done"' in line for line in lines)
    assert (run.workdir / "lighthouse.png").stat().st_size > 1000
    assert (run.workdir / "lesson.html").read_text().count("<img") == 60


def test_openai_notebook_uses_the_sdk_against_the_local_server(executed: Any) -> None:
    run = executed("openai-compatible.ipynb")
    assert "images come from http://127.0.0.1:" in run.text(run.cell("import os"))
    shown = run.cell("import base64")
    png = [o.data["image/png"] for o in shown.outputs if "image/png" in o.get("data", {})]
    assert len(png) == 1
    with Image.open(BytesIO(base64.b64decode(png[0]))) as im:
        assert im.format == "PNG" and im.size == (512, 512)
    assert "--openai cannot send --seed" in run.text(run.cell("from IPython.core.error"))


# ---- the runner itself -------------------------------------------------------------------------


def test_runner_counts_usage_errors_and_exceptions_and_drops_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import os\nprint('key:', os.environ.get('VENICE_API_KEY'))"),
        nbformat.v4.new_code_cell(
            "import requests\ntry:\n    requests.get('http://192.0.2.1/', timeout=5)\n"
            "except requests.RequestException as exc:\n    print(type(exc).__name__)"
        ),
        nbformat.v4.new_code_cell("%load_ext venice_nb"),
        nbformat.v4.new_code_cell("%%venice --no-such-option\na cat"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("print('still runs')"),
    ]
    src, dst = tmp_path / "broken.ipynb", tmp_path / "out" / "broken.ipynb"
    nbformat.write(nb, src)
    offline_env(monkeypatch, tmp_path / "cache")
    assert runner.main([str(src), str(dst), "--no-key", "--timeout", "60"]) == 1
    printed = capsys.readouterr().out
    assert "6 cells run" in printed and "2 errors" in printed
    assert "cell 3: UsageError: unknown option" in printed
    assert "cell 4: ZeroDivisionError" in printed
    done = nbformat.read(dst, as_version=4)
    assert "key: None" in done.cells[0].outputs[0].text
    assert done.cells[1].outputs[0].text.strip() == "ProxyError"  # nothing leaves loopback
    assert done.cells[5].outputs[0].text == "still runs\n"
    _, alive = psutil.wait_procs(kernel_processes(), timeout=10)
    assert alive == []  # the runner stops the kernel it started


def test_classroom_rehearses_a_lesson_without_leaking_a_token(executed: Any) -> None:
    run = executed("classroom.ipynb")
    report = run.text(run.cell('print(classroom("report"))'))
    assert "chiara   $0.03   $0.03" in report and "3 students, $0.05 spent, 5 images" in report
    spent = run.text(run.cell("from venice_nb.errors import VeniceError"))
    assert (
        "attempt 3: over budget: this request costs $0.01 and your budget has $0.00 left" in spent
    )
    everything = json.dumps(run.nb)
    assert "vcl_" not in everything  # the tokens stayed in variables
