"""The Binder environment, as far as this machine can build it (no Docker, no repo2docker).

What repo2docker does with ``binder/`` is replayed in a fresh venv: install the pinned
``binder/requirements.txt``, run ``binder/postBuild`` (``set -e``: any failing step fails it), then
launch through ``binder/start`` the way Binder launches the server, here running the quickstart
headless with no key. It works on a copy of the repository's files, so the build leaves nothing in
the checkout. pip's cache is reused, so after the first run this takes about a minute. It is not
skipped anywhere: a Binder link that breaks is a broken demo on somebody's slide.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

pytestmark = pytest.mark.slow  # a server, a browser or whole notebooks: not the fast loop

ROOT = Path(__file__).resolve().parents[1]
# What a fresh clone holds that the build and the quickstart need.
COPY = ["pyproject.toml", "README.md", "venice_nb", "binder", "notebooks", "scripts"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints")
# Variables from this process that would make the venv's Python see the wrong packages or key.
TOKEN = "binder-test-token"
SCRUB = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV", "VENICE_API_KEY")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run and return stdout+stderr; on failure, fail the test with the tail of the output."""
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-4000:]}")
    return out


@pytest.mark.timeout(900)
def test_binder_environment_builds_and_runs_the_quickstart(tmp_path: Path) -> None:
    repo, venv, home = tmp_path / "repo", tmp_path / "venv", tmp_path / "home"
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=IGNORE)
        else:
            repo.mkdir(exist_ok=True)
            shutil.copy2(src, repo / name)
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"

    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        HOME=str(home),  # postBuild and the kernel must not need (or touch) a real home
        XDG_CACHE_HOME=str(tmp_path / "cache"),  # venice_nb's result cache
        PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    _run(
        [str(python), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
        repo,
        env,
        600,
    )
    _run(["bash", "binder/postBuild"], repo, env, 300)
    _run([str(python), "-m", "pip", "check"], repo, env, 120)  # the pins agree with each other

    # postBuild installed the package (not the copy on sys.path), with its data files.
    probe = "import venice_nb; print(venice_nb.__file__)"
    where = _run([str(python), "-c", probe], tmp_path, env, 60)
    assert str(venv) in where.splitlines()[0]
    site_pkg = Path(where.splitlines()[0]).parent
    assert (site_pkg / "server" / "data" / "venice-models-2026-08-20.json").is_file()

    prefix = venv
    overrides = json.loads((prefix / "share/jupyter/lab/settings/overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"checkForUpdates": False, "fetchNews": "false"}
    server_conf = prefix / "etc/jupyter/jupyter_server_config.d/venice-nb-binder.json"
    assert json.loads(server_conf.read_text())["ServerApp"]["default_url"] == (
        "/lab/tree/notebooks/quickstart.ipynb"
    )
    assert (repo / "notebooks" / "quickstart.ipynb").is_file()  # what default_url opens
    ipy_conf = (prefix / "etc/ipython/ipython_config.py").read_text()
    assert 'c.VeniceMagics.backend = "auto"' in ipy_conf
    assert not (home / ".jupyter").exists() and not (home / ".ipython").exists()

    # Launch the way Binder does: binder/start wraps the command. No key: the local preview.
    out_nb = tmp_path / "run" / "quickstart.ipynb"
    launch = [str(python), "scripts/run_notebook.py", "notebooks/quickstart.ipynb", str(out_nb)]
    out = _run(["bash", "binder/start", *launch, "--timeout", "120"], repo, env, 300)
    assert "no VENICE_API_KEY: cells use the local preview" in out
    assert "0 errors" in out, out
    run = json.loads(out_nb.read_text())
    html = "".join(
        "".join(o.get("data", {}).get("text/html", ""))
        for c in run["cells"]
        if c["cell_type"] == "code"
        for o in c["outputs"]
    )
    assert html.count('src="data:image/') == 9
    assert "local preview" in html
    assert (out_nb.parent / "venice-images").is_dir()  # the kernel's cwd was the output folder

    # And JupyterLab itself: "/" lands on the quickstart, with the news toast switched off.
    port = _free_port()
    lab = [str(venv / "bin" / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={TOKEN}", "--allow-root"]  # fmt: skip
    with (tmp_path / "lab.log").open("w") as log:
        server = subprocess.Popen(
            ["bash", "binder/start", *lab], cwd=repo, env=env, stdout=log, stderr=log
        )
    try:
        base = f"http://127.0.0.1:{port}"
        http = requests.Session()
        http.trust_env = False  # loopback only, whatever proxies this machine has
        http.headers["Authorization"] = f"token {TOKEN}"
        _wait_for(http, f"{base}/api/status", server, tmp_path / "lab.log")
        landing = http.get(f"{base}/", allow_redirects=False, timeout=30)
        assert landing.status_code in (301, 302, 303, 307)
        assert urlsplit(landing.headers["Location"]).path == "/lab/tree/notebooks/quickstart.ipynb"
        page = http.get(f"{base}/lab/tree/notebooks/quickstart.ipynb", timeout=30)
        assert page.status_code == 200 and "jupyter-config-data" in page.text
        contents = http.get(f"{base}/api/contents/notebooks/quickstart.ipynb", timeout=30)
        assert contents.json()["type"] == "notebook"
        setting = http.get(
            f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification", timeout=30
        ).json()
        defaults = setting["schema"]["properties"]
        assert defaults["fetchNews"]["default"] == "false"
        assert defaults["checkForUpdates"]["default"] is False
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(http: requests.Session, url: str, server: subprocess.Popen, log: Path) -> None:
    """Poll until the server answers (bounded; fails with its log if it exits or never does)."""
    for _ in range(240):
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if http.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer {url}:\n{log.read_text()[-4000:]}")
