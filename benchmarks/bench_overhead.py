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

import requests

from .common import BENCH_KEY, Row, configured, median, run_cell, timed

TARGET = 1.05
LINE = "-m z-image-turbo --width 1024 --height 1024 -f webp --seed 11 --no-cache -o _bench_one"


def _plain_call(session: requests.Session, url: str, body: dict) -> list[bytes]:
    resp = session.post(
        url, json=body, headers={"Authorization": f"Bearer {BENCH_KEY}"}, timeout=60
    )
    resp.raise_for_status()
    return [base64.b64decode(s) for s in resp.json()["images"]]


def run(reps: int = 11, latency: float = 0.2) -> list[Row]:
    from venice_nb.display import result_bundle
    from venice_nb.server import LocalServer

    with LocalServer(latency=latency) as server, configured(server.base_url) as sh:
        run_cell(sh, LINE)  # warm-up: client, connection, catalogue, first display
        generated = [r for r in server.received if r.path.endswith("/image/generate")]
        body = generated[-1].body
        url = server.base_url + "/image/generate"
        result = sh.user_ns["_bench_one"]
        with requests.Session() as plain:
            expected = _plain_call(plain, url, body)  # warm-up and a check: same bytes
            if [im.data for im in result.images] != expected:
                raise RuntimeError("the magic and the plain script got different images")
            magic_s: list[float] = []
            plain_s: list[float] = []
            for i in range(reps):
                order = (0, 1) if i % 2 == 0 else (1, 0)
                for which in order:
                    if which == 0:
                        magic_s.append(run_cell(sh, LINE)[0])
                    else:
                        plain_s.append(timed(lambda: _plain_call(plain, url, body))[0])
        result = sh.user_ns.pop("_bench_one")
        display_s = median([timed(lambda: result_bundle(result))[0] for _ in range(3)])
    m, b = median(magic_s) * 1000, median(plain_s) * 1000
    ratio = m / b
    return [
        Row(
            "overhead: %%venice vs requests+base64",
            m,
            b,
            ratio,
            f"ratio <= {TARGET}",
            ratio <= TARGET,
            note=(
                f"1024x1024 webp, {latency * 1000:.0f} ms latency, {reps} alternating runs; "
                f"added {m - b:.1f} ms, of which building the display bundle "
                f"{display_s * 1000:.1f} ms"
            ),
            extra={
                "magic_ms": [x * 1000 for x in magic_s],
                "plain_ms": [x * 1000 for x in plain_s],
            },
        )
    ]
