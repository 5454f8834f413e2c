"""What every benchmark shares: the result row, timing helpers, a configured IPython shell.

Benchmarks compare two things measured in the same run (ratios travel between machines, absolute
times do not). All traffic goes to a local preview server on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import contextlib
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "bench-key-not-a-secret-0000"  # the local server takes any bearer key
PROMPT = "a lighthouse on a cliff at dusk, long exposure"


@dataclass
class Row:
    """One line of the results table: a measurement, its baseline, their ratio, the target."""

    benchmark: str
    measured: float
    baseline: float
    ratio: float
    target: str
    passed: bool
    unit: str = "ms"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    informational: bool = False  # shown for insight, not held to the target

    def __post_init__(self) -> None:
        self.measured, self.baseline, self.ratio = (
            float(self.measured),
            float(self.baseline),
            float(self.ratio),
        )

    @property
    def verdict(self) -> str:
        if self.informational:
            return "INFO"
        return "PASS" if self.passed else "MISS"

    def cells(self) -> list[str]:
        return [
            self.benchmark,
            fmt(self.measured, self.unit),
            fmt(self.baseline, self.unit),
            f"{self.ratio:.2f}",
            self.target,
            self.verdict,
        ]


def fmt(value: float, unit: str) -> str:
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, return value) of one call."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


# ---- an IPython shell with the extension loaded ----------------------------------------------


def shell() -> Any:
    """The process's InteractiveShell with ``venice_nb`` loaded (as a user would have it)."""
    from IPython.core.interactiveshell import InteractiveShell

    sh: Any = InteractiveShell.instance()
    if "venice_nb" not in sh.extension_manager.loaded:
        sh.run_line_magic("load_ext", "venice_nb")
    return sh


@contextlib.contextmanager
def configured(base_url: str, cache_dir: str | None = None, **settings: Any) -> Iterator[Any]:
    """The shell, pointed at ``base_url`` through ``%config`` like a user would (key from env).

    Settings are put back afterwards so benchmarks do not leak into each other.
    """
    sh = shell()
    old_key = os.environ.get("VENICE_API_KEY")
    os.environ["VENICE_API_KEY"] = BENCH_KEY
    values = {"backend": "venice", "base_url": base_url, **settings}
    if cache_dir is not None:
        values["cache_dir"] = cache_dir
    magics = _magics(sh)
    before = {name: getattr(magics, name) for name in values}
    try:
        for name, value in values.items():
            sh.run_line_magic("config", f"VeniceMagics.{name} = {value!r}")
        yield sh
    finally:
        for name, value in before.items():
            sh.run_line_magic("config", f"VeniceMagics.{name} = {value!r}")
        if old_key is None:
            os.environ.pop("VENICE_API_KEY", None)
        else:
            os.environ["VENICE_API_KEY"] = old_key


def _magics(sh: Any) -> Any:
    for instance in sh.magics_manager.registry.values():
        if type(instance).__name__ == "VeniceMagics":
            return instance
    raise RuntimeError("VeniceMagics is not registered; did %load_ext venice_nb fail?")


def run_cell(sh: Any, line: str, body: str = PROMPT) -> tuple[float, Any]:
    """Run ``%%venice <line>`` as a cell, outputs captured; (seconds, captured outputs).

    Raises if the cell failed, so a broken magic never yields a timing.
    """
    from IPython.utils.capture import capture_output

    text = f"%%venice {line}\n{body}\n"
    with capture_output() as captured:
        start = time.perf_counter()
        result = sh.run_cell(text, store_history=False)
        elapsed = time.perf_counter() - start
    if not result.success:
        err = result.error_in_exec or result.error_before_exec
        raise RuntimeError(f"cell failed: {type(err).__name__}: {err}\n{captured.stdout}")
    if "UsageError" in captured.stderr or "Error" in captured.stdout[:200]:
        raise RuntimeError(f"cell reported an error: {captured.stderr or captured.stdout}")
    return elapsed, captured


# ---- subprocesses ----------------------------------------------------------------------------

# The start of a memory benchmark's child script: ``status()`` reads VmRSS/VmHWM, and
# ``watch_peak()`` (called once the warm-up is done) notes VmRSS, resets VmHWM
# (``/proc/self/clear_refs`` = 5) and starts a thread sampling VmRSS every 2 ms; it returns
# ``(before, hwm_reset, peak, stop)``: ``peak[0]`` is the sampled peak once ``stop()`` returns.
RSS_PROBE = r"""
import gc, threading, time

def status():
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    return out

def watch_peak():
    gc.collect()
    before = status()["VmRSS"]
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        hwm_reset = status()["VmHWM"] <= before + 1024 * 1024
    except OSError:
        hwm_reset = False
    peak = [before]
    halt = threading.Event()
    def sample():
        while not halt.is_set():
            peak[0] = max(peak[0], status()["VmRSS"])
            time.sleep(0.002)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    def stop():
        halt.set()
        sampler.join()
    return before, hwm_reset, peak, stop
"""


def clean_env(**extra: str) -> dict[str, str]:
    """An environment for a fresh interpreter: no key, throwaway IPython dir and cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENICE_")}
    scratch = tempfile.mkdtemp(prefix="venice-bench-env-")
    env.setdefault("IPYTHONDIR", str(Path(scratch) / "ipython"))
    env["XDG_CACHE_HOME"] = str(Path(scratch) / "cache")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter (this venv); its stdout. Raises on failure."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


@contextlib.contextmanager
def served(*args: str, timeout: float = 60) -> Iterator[str]:
    """``python -m benchmarks.serve *args`` in its own process; its base URL. Stopped on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.serve", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout)  # a hung child ends the wait
        url = proc.stdout.readline().strip() if ready else ""
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"benchmarks.serve did not start (said {url!r})")
        yield url
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# ---- notebooks -------------------------------------------------------------------------------


def execute_notebook(nb: Any, folder: str, timeout: float) -> None:
    """Run ``nb`` with nbclient in a real kernel, in ``folder``; raises on a cell's error."""
    from nbclient import NotebookClient

    env = clean_env(XDG_CACHE_HOME=str(Path(folder) / "cache"))
    client = NotebookClient(
        nb, timeout=int(timeout), kernel_name="python3", resources={"metadata": {"path": folder}}
    )
    client.execute(env=env, cwd=str(ROOT))
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise RuntimeError(f"cell failed: {out.get('ename')}: {out.get('evalue')}")


def outputs_weight(nb: Any, folder: str) -> tuple[int, str]:
    """The bytes ``nb``'s outputs add to the saved .ipynb (written with and without them), and
    the text of the file with them. Clears ``nb``'s outputs."""
    import nbformat

    full = Path(folder) / "with-outputs.ipynb"
    nbformat.write(nb, full)
    for cell in nb.cells:
        cell.outputs = []
        cell.execution_count = None
    bare = Path(folder) / "without-outputs.ipynb"
    nbformat.write(nb, bare)
    return full.stat().st_size - bare.stat().st_size, full.read_text(encoding="utf-8")
