"""Benchmark: the toolbox at wire speed: upscale, edit and background removal via the magic against
a plain ``requests`` script sending the same body.

The input is a 512x512 WebP made by a first cell (``shot``). For each operation the magic runs end
to end through a real shell (parse, input checks against the catalogue, the call, decoding and the
displayed before/after); the baseline posts the body the magic sent (read back from the server) to
the same route with one keep-alive ``requests.Session`` and keeps the answer's image bytes.
The local server, in a process of its own (``benchmarks.serve``: its image work no longer shares
the measured interpreter's GIL), waits 200 ms before each call. Alternating pairs, ``--no-cache``; target: each ratio
<= 1.05.
"""

from __future__ import annotations

import base64
import functools

import requests

from .common import BENCH_KEY, Row, configured, median, run_cell, served, timed

TARGET = 1.05
SHOT = "-m z-image-turbo --width 512 --height 512 --seed 3 -f webp --no-cache -o shot"
OPERATIONS = {
    "upscale": ("%venice upscale shot --scale 2 --no-cache -o _tool", ""),
    "edit": ("%%venice edit -i shot --no-cache -o _tool", "make it night"),
    "background removal": ("%venice remove-background shot --no-cache -o _tool", ""),
}


def _magic(sh, line: str, body: str) -> float:
    from IPython.utils.capture import capture_output

    text = f"{line}\n{body}\n" if line.startswith("%%") else line + "\n"
    with capture_output() as captured:
        seconds, outcome = timed(lambda: sh.run_cell(text, store_history=False))
    if not outcome.success or "Error" in captured.stderr:
        raise RuntimeError(f"{line!r} failed: {outcome.error_in_exec} {captured.stderr}")
    return seconds


def _plain_call(session: requests.Session, url: str, body: dict) -> bytes:
    resp = session.post(
        url, json=body, headers={"Authorization": f"Bearer {BENCH_KEY}"}, timeout=60
    )
    resp.raise_for_status()
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        return base64.b64decode(resp.json()["images"][0])
    return resp.content


def run(reps: int = 11, latency: float = 0.2) -> list[Row]:
    rows = []
    with served("--latency", str(latency)) as base_url, configured(base_url) as sh:
        run_cell(sh, SHOT)
        with requests.Session() as plain:
            for name, (line, body) in OPERATIONS.items():
                _magic(sh, line, body)  # warm-up: catalogue of the operation's models, imports
                request = sh.user_ns["_tool"].request
                sent = request.to_json()  # the body the magic sent (JSON at this size)
                url = base_url + request.path
                _plain_call(plain, url, sent)
                magic_s: list[float] = []
                plain_s: list[float] = []
                for i in range(reps):
                    for which in ("magic", "plain") if i % 2 == 0 else ("plain", "magic"):
                        if which == "magic":
                            magic_s.append(_magic(sh, line, body))
                            if sh.user_ns["_tool"].request.to_json() != sent:
                                raise RuntimeError(f"{name}: the magic's body changed")
                        else:
                            call = functools.partial(_plain_call, plain, url, sent)
                            plain_s.append(timed(call)[0])
                got = sh.user_ns.pop("_tool").images[0].data
                if got != _plain_call(plain, url, sent):
                    raise RuntimeError(
                        f"{name}: the magic and the plain script got different bytes"
                    )
                ratio = median([x / y for x, y in zip(magic_s, plain_s, strict=True)])
                rows.append(
                    Row(
                        f"toolbox: {name} via the magic vs requests",
                        median(magic_s) * 1000,
                        median(plain_s) * 1000,
                        ratio,
                        f"ratio <= {TARGET}",
                        ratio <= TARGET,
                        note=(
                            f"{request.path} on a 512x512 webp, "
                            f"{latency * 1000:.0f} ms latency, {reps} alternating pairs "
                            "(ratio = median of pair ratios)"
                        ),
                        extra={"magic_ms": magic_s, "plain_ms": plain_s},
                    )
                )
    return rows
