"""Benchmark 1: what ``%%venice`` costs on top of the API call itself.

The measured side runs ``%%venice`` end to end through a real ``InteractiveShell`` that loaded the
extension: parse, validate (catalogue cached after the warm-up, as in a session), the HTTP call,
decoding, and building the displayed bundle (captured, as a kernel would publish it). The baseline
is the plain script anyone would write: one keep-alive ``requests.Session``, the same JSON body
(the one the magic sent, read back from the server), ``base64.b64decode`` of each image. Same server
(200 ms injected latency, one 1024x1024 WebP), runs alternate, medians compared. The cache is
bypassed with ``--no-cache`` so every run is a real call.
"""

from __future__ import annotations

import base64
import functools

import requests

from .common import BENCH_KEY, Row, configured, median, run_cell, timed

TARGET = 1.05
LINE = "-m z-image-turbo --width 1024 --height 1024 -f webp --seed {seed} --no-cache -o _bench_one"


def _plain_call(session: requests.Session, url: str, body: dict) -> list[bytes]:
    resp = session.post(
        url, json=body, headers={"Authorization": f"Bearer {BENCH_KEY}"}, timeout=60
    )
    resp.raise_for_status()
    return [base64.b64decode(s) for s in resp.json()["images"]]


def run(reps: int = 11, latency: float = 0.2) -> list[Row]:
    """Alternating pairs (magic, plain); the ratio is the median of the pairs' ratios, which
    cancels slow drifts in machine load better than a ratio of medians."""
    from venice_nb.display.html import result_bundle
    from venice_nb.server import LocalServer

    magic_s: list[float] = []
    plain_s: list[float] = []
    http_s: list[float] = []  # the magic's own request time, as its client measured it
    with LocalServer(latency=latency) as server, configured(server.base_url) as sh:
        run_cell(sh, LINE.format(seed=10))  # warm-up: client, connection, catalogue, display
        generated = [r for r in server.received if r.path.endswith("/image/generate")]
        template = generated[-1].body
        url = server.base_url + "/image/generate"
        with requests.Session() as plain:
            _plain_call(plain, url, template)  # warm-up
            for i in range(reps):
                # a new seed per pair, so nothing about one image can be reused by the next
                seed = 11 + i
                body = {**template, "seed": seed}
                for which in ("magic", "plain") if i % 2 == 0 else ("plain", "magic"):
                    if which == "magic":
                        magic_s.append(run_cell(sh, LINE.format(seed=seed))[0])
                        result = sh.user_ns["_bench_one"]
                        http_s.append(result.timing.wall_ms / 1000)
                    else:
                        seconds, images = timed(functools.partial(_plain_call, plain, url, body))
                        plain_s.append(seconds)
                sent = [r for r in server.received if r.path.endswith("/image/generate")]
                if sent[-1].body != body or sent[-2].body != body:
                    raise RuntimeError("the magic and the plain script sent different bodies")
                if [im.data for im in result.images] != images:
                    raise RuntimeError("the magic and the plain script got different images")
        result = sh.user_ns.pop("_bench_one")
        display_s = median([timed(lambda: result_bundle(result))[0] for _ in range(5)])
    m, b = median(magic_s) * 1000, median(plain_s) * 1000
    ratio = median([x / y for x, y in zip(magic_s, plain_s, strict=True)])
    added = median([x - y for x, y in zip(magic_s, plain_s, strict=True)]) * 1000
    outside = median([x - y for x, y in zip(magic_s, http_s, strict=True)]) * 1000
    return [
        Row(
            "overhead: %%venice vs requests+base64",
            m,
            b,
            ratio,
            f"ratio <= {TARGET}",
            ratio <= TARGET,
            note=(
                f"1024x1024 webp, {latency * 1000:.0f} ms latency, {reps} alternating pairs "
                f"(ratio = median of pair ratios); added {added:.1f} ms; outside the HTTP "
                f"call {outside:.1f} ms, of which building the display bundle "
                f"(preview downscale included) {display_s * 1000:.1f} ms"
            ),
            extra={
                "magic_ms": [x * 1000 for x in magic_s],
                "plain_ms": [x * 1000 for x in plain_s],
                "http_ms": [x * 1000 for x in http_s],
                "display_ms": display_s * 1000,
            },
        )
    ]
