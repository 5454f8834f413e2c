"""Benchmark: what the classroom gateway adds to each request.

The gateway (``python -m venice_nb.classroom serve``, its own process, as a teacher runs it) sits
in front of the local preview server; one student's requests go through it, and the same body goes
straight to the upstream with the key, alternating, over keep-alive ``requests`` sessions. Through
the gateway a request is authenticated, checked against the policy, priced, reserved and settled in
the SQLite ledger (two transactions), queued fairly and forwarded with httpx. A small image (256x256
``venice-sd35``) keeps the render short so that the difference is the gateway's. Target: the median
added time under 15 ms.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import requests

from .common import BENCH_KEY, Row, median, timed

TARGET_MS = 15.0
BODY = {"model": "venice-sd35", "prompt": "a lantern", "width": 256, "height": 256, "seed": 1}
ROOT = Path(__file__).resolve().parent.parent


def _start_gateway(ledger: Path, upstream: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENICE_")}
    env["VENICE_API_KEY"] = BENCH_KEY
    proc = subprocess.Popen(
        [sys.executable, "-m", "venice_nb.classroom", "serve", "--ledger", str(ledger),
         "--upstream", upstream, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "classroom gateway on " in line:
                found.append(line.split("classroom gateway on ", 1)[1].split()[0])
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    if not found:
        proc.kill()
        raise RuntimeError("the classroom gateway did not start")
    return proc, found[0]


def _post(session: requests.Session, url: str, token: str, seed: int) -> None:
    resp = session.post(
        url, json={**BODY, "seed": seed}, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    resp.raise_for_status()


def run(reps: int = 41) -> list[Row]:
    """Alternating pairs (gateway, direct); medians and the median of the pairs' differences."""
    from venice_nb.classroom.ledger import SqliteLedger
    from venice_nb.server import LocalServer

    via: list[float] = []
    direct: list[float] = []
    with tempfile.TemporaryDirectory(prefix="venice-bench-classroom-") as scratch:
        ledger_path = Path(scratch) / "class.sqlite3"
        ledger = SqliteLedger(ledger_path)
        token = ledger.add("bench", 10_000.0)
        ledger.close()
        with LocalServer(balance_usd=1e6) as upstream:
            proc, gateway = _start_gateway(ledger_path, upstream.base_url)
            try:
                with requests.Session() as student, requests.Session() as plain:
                    for _ in range(3):  # warm-up: connections, the gateway's catalogue
                        _post(student, gateway + "/image/generate", token, 0)
                        _post(plain, upstream.base_url + "/image/generate", BENCH_KEY, 0)
                    for i in range(reps):
                        seed = 100 + i
                        pair = ("via", "direct") if i % 2 == 0 else ("direct", "via")
                        calls = {
                            "via": functools.partial(
                                _post, student, gateway + "/image/generate", token, seed
                            ),
                            "direct": functools.partial(
                                _post, plain, upstream.base_url + "/image/generate", BENCH_KEY, seed
                            ),
                        }
                        for which in pair:
                            seconds = timed(calls[which])[0]
                            (via if which == "via" else direct).append(seconds)
            finally:
                proc.terminate()
                proc.wait(10)
    m, b = median(via) * 1000, median(direct) * 1000
    added = median([x - y for x, y in zip(via, direct, strict=True)]) * 1000
    return [
        Row(
            "classroom: gateway vs upstream directly",
            m,
            b,
            m / b,
            f"added < {TARGET_MS:.0f} ms",
            added < TARGET_MS,
            note=(
                f"256x256 venice-sd35 on the local preview, {reps} alternating pairs; added "
                f"{added:.1f} ms per request (median of pair differences): token check, policy, "
                "price, reserve + settle in SQLite (WAL), fair queue, httpx forward"
            ),
            extra={
                "via_ms": [x * 1000 for x in via],
                "direct_ms": [x * 1000 for x in direct],
                "added_ms": added,
            },
        )
    ]
