"""Two public Venice clients, installed from the package index, run against ``python -m venice_nb.server``.

``venice-cli`` 0.83.48 (``VENICE_BASE_URL`` / ``VENICE_API_KEY``) and ``llm-venice`` 0.9.1 (the ``llm``
plugin; it has no base-URL setting, so a small runner points its endpoint constants at the local
server) run their image, edit, multi-edit, upscale, background-removal, model-list and rate-limit
commands. Every request they make must be answered as the live service would answer it: here, all
200s (a client-side refusal, such as venice-cli's for a model without style references, sends
nothing). The throwaway environment is cached under the temp directory, keyed by the versions.
Skipped only when the package index cannot be reached.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

VENICE_CLI = "venice-cli==0.83.48"
LLM_VENICE = "llm-venice==0.9.1"
UNREACHABLE = (
    "No matching distribution",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Max retries exceeded",
    "Connection refused",
    "Network is unreachable",
    "timed out",
)
KEY = "sk-peer-canary-5e1f0a"
LLM_RUNNER = '''\
"""Run the llm CLI with llm-venice aimed at VENICE_LOCAL_BASE (it has no base-URL setting)."""
import os
import sys

import llm_venice.api.keys, llm_venice.api.refresh, llm_venice.api.upscale  # noqa: E401,F401
import llm_venice.constants as constants
import llm_venice.models.image  # noqa: F401

LIVE, LOCAL = constants.VENICE_API_BASE, os.environ["VENICE_LOCAL_BASE"]
for name, module in list(sys.modules.items()):
    if name.startswith("llm_venice"):
        for attr, value in list(vars(module).items()):
            if isinstance(value, str) and value.startswith(LIVE):
                setattr(module, attr, LOCAL + value[len(LIVE):])

from llm.cli import cli  # noqa: E402

sys.exit(cli())
'''


@pytest.fixture(scope="module")
def peers() -> Path:
    """A virtual environment with both clients, built once per versions and reused."""
    tag = re.sub(r"[^A-Za-z0-9.]+", "-", f"{VENICE_CLI}-{LLM_VENICE}")
    home = Path(tempfile.gettempdir()) / f"venice-nb-peers-{tag}"
    if (home / "ready").exists():
        return home
    building = home.with_name(f"{home.name}.{uuid.uuid4().hex[:8]}")
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True, timeout=300)
    pip = subprocess.run(
        [str(building / "bin" / "python"), "-m", "pip", "install", "-q", VENICE_CLI, LLM_VENICE],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if pip.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        output = pip.stdout + pip.stderr
        if any(sign in output for sign in UNREACHABLE):
            pytest.skip(f"the package index is unreachable: {output.strip().splitlines()[-1]}")
        pytest.fail(f"pip install {VENICE_CLI} {LLM_VENICE} failed:\n{output[-2000:]}")
    (building / "llm_local.py").write_text(LLM_RUNNER, "utf-8")
    (building / "ready").write_text("ok", "utf-8")
    try:
        building.rename(home)
    except OSError:  # another run finished first: use its copy
        shutil.rmtree(building, ignore_errors=True)
    return home


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``python -m venice_nb.server`` on a free loopback port; yields (base URL, its log)."""
    log = tmp_path_factory.mktemp("preview") / "requests.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "venice_nb.server", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            found = re.search(r"listening on (http://\S+)", line)
            assert found, f"the server printed {line!r}"
            yield found.group(1), log
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=180)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(cmd[1:5])} failed ({done.returncode}):\n{out}"
    assert KEY not in out
    return out


def _requests(log: Path, since: int) -> list[tuple[str, str, str]]:
    """(method, path, status) of every request the server logged after line ``since``."""
    time.sleep(0.1)  # the log line is written after the answer
    lines = log.read_text().splitlines()[since:]
    return [
        (m.group(1), m.group(2), m.group(3))
        for line in lines
        if (m := re.match(r"(\w+) (\S+) -> (\S+) \(", line))
    ]


def _image(path: Path, size: tuple[int, int] = (320, 256)) -> Path:
    from PIL import Image

    Image.new("RGB", size, (40, 120, 200)).save(path)
    return path


def test_venice_cli(peers: Path, preview: tuple[str, Path], tmp_path: Path) -> None:
    base, log = preview
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "VENICE_API_KEY": KEY,
        "VENICE_BASE_URL": base,
    }
    venice = [str(peers / "bin" / "python"), "-m", "venice"]  # the venv moved: no bin/ shebangs
    start = len(log.read_text().splitlines())
    src, layer = _image(tmp_path / "src.png"), _image(tmp_path / "layer.png", (256, 256))
    balance = _run([*venice, "balance", "--verbose"], env, tmp_path)
    assert "$100.00" in balance and "paid" in balance
    assert "z-image-turbo" in _run([*venice, "models", "--type", "image"], env, tmp_path)
    assert "muse-image-edit" in _run([*venice, "models", "--type", "inpaint"], env, tmp_path)
    _run([*venice, "models", "--type", "decision"], env, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    made = _run(
        [*venice, "image", "a fox", "--model", "qwen-image-3", "--aspect-ratio", "16:9",
         "--variants", "2", "--yes", "--save-json", "-o", f"{out}/"],
        env, tmp_path,
    )  # fmt: skip
    assert made.count("wrote ") >= 3  # two images and the sidecar
    sidecar = next(out.glob("*.json"))
    _run([*venice, "image", "--from-json", str(sidecar), "--yes", "-o", str(out / "replay.png")],
         env, tmp_path)  # fmt: skip  # the echo replays (it used to hold width/height: a 400)
    _run([*venice, "image", "a fox", "--model", "krea-v2-large", "--style-reference",
          f'{{"image": "{layer}", "strength": 0.6}}', "--yes", "-o", str(out / "sref.png")],
         env, tmp_path)  # fmt: skip
    _run([*venice, "image-edit", str(src), "-p", "make it night", "--yes", "-o", str(out / "e.png")],
         env, tmp_path)  # fmt: skip
    _run([*venice, "image-edit", str(src), "-p", "merge", "--layer", str(layer), "--yes",
          "-o", str(out / "m.png")], env, tmp_path)  # fmt: skip
    _run([*venice, "upscale", str(layer), "--scale", "2", "--yes", "-o", str(out / "u.png")],
         env, tmp_path)  # fmt: skip
    _run([*venice, "bg-remove", str(layer), "--yes", "-o", str(out / "b.png")], env, tmp_path)
    for name in ("replay.png", "sref.png", "e.png", "m.png", "u.png", "b.png"):
        assert (out / name).stat().st_size > 1000, name
    seen = _requests(log, start)
    posts = {path.rsplit("/api/v1", 1)[-1] for method, path, _ in seen if method == "POST"}
    assert posts == {
        "/image/generate",
        "/image/edit",
        "/image/multi-edit",
        "/image/upscale",
        "/image/background-remove",
    }
    assert any(path.endswith("/api_keys/rate_limits") for _, path, _ in seen)
    assert [s for s in seen if s[2] != "200"] == []  # no error the live service would not give


def test_llm_venice(peers: Path, preview: tuple[str, Path], tmp_path: Path) -> None:
    base, log = preview
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LLM_USER_PATH": str(tmp_path / "llm"),
        "LLM_VENICE_KEY": KEY,
        "VENICE_LOCAL_BASE": base,
    }
    llm = [str(peers / "bin" / "python"), str(peers / "llm_local.py")]
    start = len(log.read_text().splitlines())
    assert "models saved" in _run([*llm, "venice", "refresh"], env, tmp_path)
    listed = _run([*llm, "models"], env, tmp_path)
    assert "venice/z-image-turbo" in listed and "local-pro-model" not in listed
    limits = _run([*llm, "venice", "api-keys", "rate-limits"], env, tmp_path)
    assert '"apiTier"' in limits and '"rateLimits"' in limits
    out = tmp_path / "out"
    made = _run(
        [*llm, "-m", "venice/qwen-image-3", "a fox", "-o", "aspect_ratio", "16:9",
         "-o", "variants", "2", "-o", "output_dir", str(out), "-n"],
        env, tmp_path,
    )  # fmt: skip
    assert made.count("Image saved to") == 2
    first = sorted(out.iterdir())[0]
    up = _run([*llm, "venice", "upscale", str(first), "-o", str(out / "up.png")], env, tmp_path)
    assert "Upscaled image saved" in up  # llm-venice sends enhance=false: ignored, as live
    _run([*llm, "venice", "upscale", str(first), "--enhance", "--enhance-creativity", "0.3",
          "--replication", "0.2", "-o", str(out / "up2.png")], env, tmp_path)  # fmt: skip
    seen = _requests(log, start)
    assert {p.rsplit("/api/v1", 1)[-1].split("?")[0] for _, p, _ in seen} >= {
        "/models",
        "/api_keys/rate_limits",
        "/image/generate",
        "/image/upscale",
    }
    assert [s for s in seen if s[2] != "200"] == []
