"""JupyterLab and headless Chromium for the browser test, set up as ../shared/browser-testing.md says.

Lab runs on a free 127.0.0.1 port with a temporary HOME, JUPYTER_* and IPYTHONDIR (nothing lands in
the real home), no token, and the news toast switched off through a user setting. Chromium is the
Debian one at /usr/bin/chromium, launched by Playwright with flags that keep it off the network.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Variables that would point the kernel at the real API or the real Jupyter/IPython dirs.
DROPPED_ENV = (
    "VENICE_API_KEY", "VENICE_BASE_URL", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "IPYTHONDIR", "JPY_SESSION_NAME",
)  # fmt: skip
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def require_browser() -> None:
    """Skip (a missing tool, never a missing file) where Playwright or Chromium is absent."""
    import pytest

    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the browser tests need the playwright package")
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_notebook(path: Path, sources: Sequence[str]) -> Path:
    """A notebook with code cells and a kernelspec (without one, Lab asks which kernel to use)."""
    cells = [
        {"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {},
         "outputs": [], "source": source}
        for i, source in enumerate(sources)
    ]  # fmt: skip
    notebook = {
        "cells": cells,
        "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


@dataclass
class Lab:
    url: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def lab_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    dirs = {
        "HOME": base / "home",
        "JUPYTER_CONFIG_DIR": base / "jupyter-config",
        "JUPYTER_DATA_DIR": base / "jupyter-data",
        "JUPYTER_RUNTIME_DIR": base / "jupyter-runtime",
        "IPYTHONDIR": base / "ipython",
        "XDG_CACHE_HOME": base / "cache",
        "XDG_CONFIG_HOME": base / "xdg-config",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    env.update({k: str(v) for k, v in dirs.items()})
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    settings = dirs["JUPYTER_CONFIG_DIR"] / "lab/user-settings/@jupyterlab/apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    # The "official Jupyter news?" toast covers screenshots; only this setting removes it.
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    return env


@contextmanager
def jupyter_lab(base: Path, timeout: float = 30.0, app: str = "jupyterlab") -> Iterator[Lab]:
    """Start JupyterLab (or ``app="notebook"``: Notebook 7, which opens a notebook at
    ``/notebooks/NAME``) serving ``base/work``; stop it (and its kernels) with SIGTERM."""
    env = lab_env(base)
    root = base / "work"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = base / "jupyterlab.log"
    command = [
        sys.executable, "-m", app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.token=", "--ServerApp.password=", "--allow-root",
        f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    lab = Lab(f"http://127.0.0.1:{port}", root, process, log)
    try:
        _wait_ready(lab, timeout)
        yield lab
    finally:
        _stop(process)


def _wait_ready(lab: Lab, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with {lab.process.returncode}:\n{lab.log_tail()}"
            )
        try:
            with urllib.request.urlopen(lab.url + "/api/status", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{lab.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def launch_chromium(playwright: Any) -> Any:
    """The Debian Chromium; Playwright's own download is not available on these machines."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
