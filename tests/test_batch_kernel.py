"""A batch survives a kernel restart: a real ipykernel, killed at about half of a 60-image batch,
started again, the same cell run again. Over both kernels no request is sent twice except those
in flight at the kill (at most the concurrency), an image saved just before the kill but not yet
recorded is adopted rather than bought again, and the manifest ends with 60 done rows."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from magics_harness import KEY, KEY_FRAGMENT

from venice_nb.batches import IMAGE_SUFFIXES
from venice_nb.server import LocalServer

pytestmark = pytest.mark.slow
CONCURRENCY = 4
TOTAL = 60


def setup_code(server: LocalServer, tmp: Path) -> str:
    return f"""
%load_ext venice_nb
%config VeniceMagics.backend = 'venice'
%config VeniceMagics.base_url = {server.base_url!r}
%config VeniceMagics.cache_enabled = False
%config VeniceMagics.concurrency = {CONCURRENCY}
%config VeniceMagics.max_retries = 0
%config VeniceMagics.save_dir = {str(tmp / "saved")!r}
boats = [f"a paper boat number {{i}}" for i in range({TOTAL})]
"""


def batch_cell(tmp: Path) -> str:
    return f"%%venice -m z-image-turbo -W 256 -H 256 --prompts boats --batch {tmp / 'batch'} --yes\n{{prompt}}"


def done_rows(manifest: Path) -> int:
    try:
        text = manifest.read_text()
    except FileNotFoundError:
        return 0
    return sum(1 for line in text.splitlines() if json.loads(line)["status"] == "done")


def saved_images(folder: Path) -> int:
    """Images on disk: a kill between an image's file and its manifest row leaves one saved but
    unrecorded, which the next run adopts instead of sending again."""
    return sum(1 for p in folder.glob("*-*") if p.suffix in IMAGE_SUFFIXES)


def start_kernel(tmp: Path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    env = {**os.environ, "VENICE_API_KEY": KEY}
    km.start_kernel(env=env, cwd=str(tmp))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def run(kc, code: str, timeout: float = 120) -> list[dict]:
    outputs: list[dict] = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=outputs.append)
    assert reply["content"]["status"] == "ok", reply["content"]
    return outputs


def test_kill_the_kernel_half_way_and_run_the_cell_again(tmp_path):
    manifest = tmp_path / "batch" / "manifest.jsonl"
    with LocalServer() as server:
        server.latency = 0.08  # a batch of some seconds: time to kill it half way
        km, kc = start_kernel(tmp_path)
        try:
            run(kc, setup_code(server, tmp_path))
            server.reset_counters()
            kc.execute(batch_cell(tmp_path))  # not waited for: killed half way
            deadline = time.monotonic() + 90
            while done_rows(manifest) < TOTAL // 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            km.signal_kernel(signal.SIGKILL)  # as a crash would: no cleanup in the kernel
            while km.is_alive() and time.monotonic() < deadline:
                time.sleep(0.01)
            at_kill = done_rows(manifest)
            on_disk = saved_images(tmp_path / "batch")
            assert TOTAL // 2 <= at_kill <= on_disk < TOTAL
            assert on_disk - at_kill <= CONCURRENCY  # at most those in flight lack their row
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        time.sleep(0.3)  # anything still on the wire reaches the server
        first = [r.body["prompt"] for r in server.received if r.path.endswith("/image/generate")]
        assert len(first) <= at_kill + CONCURRENCY

        km, kc = start_kernel(tmp_path)
        try:
            run(kc, setup_code(server, tmp_path))
            outputs = run(kc, batch_cell(tmp_path))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        everything = [
            r.body["prompt"] for r in server.received if r.path.endswith("/image/generate")
        ]
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(rows) == TOTAL and all(r["status"] == "done" for r in rows)
    assert sorted(set(everything)) == sorted(f"a paper boat number {i}" for i in range(TOTAL))
    assert len(everything) - len(set(everything)) <= CONCURRENCY  # only those in flight
    assert len(everything) - len(first) == TOTAL - on_disk  # nothing saved is paid for again
    shown = json.dumps([o["content"] for o in outputs])
    assert f"resuming: {on_disk} of {TOTAL}" in shown
    if on_disk > at_kill:
        assert f"{on_disk - at_kill} image" in shown and "had no manifest row" in shown
    assert f"batch {TOTAL}/{TOTAL} done" in shown
    assert KEY_FRAGMENT not in shown and KEY_FRAGMENT not in manifest.read_text()
