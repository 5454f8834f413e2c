"""Benchmark: a sweep larger than the key's request budget, paced from the rate-limit headers.

The live key allows 20 image requests a minute and says where it stands in
``x-ratelimit-limit-requests`` / ``-remaining-requests`` / ``-reset-requests`` (429 beyond it).
Scaled down in time: a local server allowing 12 requests per 10-second sliding window (reset in
Unix ms, as the live service sends it) and 0.5 s per request. A 36-image ``%%venice`` sweep at
concurrency 4 needs three windows: the limit allows it to finish ``2 x 10 s`` after it starts plus
the time the last 12 requests take at concurrency 4 (a 12-image sweep timed in the same run on an
unlimited server). Measured: the sweep paced by ``RateGate`` (target: within 1.10x
of that, zero 429s). Baseline: the same sweep with the gate's earlier behaviour
(``RateGate(pacing=False)``: pause only after an answer says 0 remain, or after a 429), its time
and its 429s. Every run gets a fresh server (an empty window) and a fresh client.
"""

from __future__ import annotations

import math

from .common import Row, configured, median, run_cell

TARGET = 1.10
LIMIT = 12
WINDOW_S = 10.0
CONCURRENCY = 4
LINE = "-m z-image-turbo --width 256 --height 256 --seed 1:{n} --no-cache -o _bench_rate"
TAIL = "-m z-image-turbo --width 256 --height 256 --seed {first}:{last} --no-cache"


def _sweep(sh, n: int, latency: float, limit: int, window_s: float, pacing: bool) -> dict:
    """One sweep against a fresh rate-limited server: seconds, 429s, images."""
    from venice_nb.ratelimit import RateGate
    from venice_nb.server import LocalServer
    from venice_nb.session import get_session

    with LocalServer(
        latency=latency, rate_limit_rpm=limit, rate_window_s=window_s, reset_unit="epoch_ms"
    ) as server:
        sh.run_line_magic("config", f"VeniceMagics.base_url = {server.base_url!r}")
        client = get_session().client()
        client.gate = RateGate(pacing=pacing)
        client.models()  # the catalogue (not rate-limited) is fetched before the clock starts
        seconds, _ = run_cell(sh, LINE.format(n=n))
        sweep = sh.user_ns.pop("_bench_rate")
        sent = server.generate_count
    ok = len(sweep.images)
    return {"seconds": seconds, "429s": sent - ok, "images": ok, "errors": len(sweep.errors)}


def run(
    reps: int = 2,
    n: int = 36,
    latency: float = 0.5,
    limit: int = LIMIT,
    window_s: float = WINDOW_S,
) -> list[Row]:
    from venice_nb.server import LocalServer

    paced: list[dict] = []
    baseline: list[dict] = []
    with LocalServer(latency=latency) as free, configured(free.base_url, max_retries=8) as sh:
        sh.run_line_magic("config", f"VeniceMagics.concurrency = {CONCURRENCY}")
        # A grid of 36 would run as a batch (above batch_threshold); this row measures the sweep.
        sh.run_line_magic("config", "VeniceMagics.batch_threshold = 1000")
        run_cell(sh, TAIL.format(first=1, last=2))  # warm-up: imports, client, catalogue
        tails = []
        for rep in range(3):  # what the last window's requests take with no limit in the way
            first = 100 + rep * limit
            tails.append(run_cell(sh, TAIL.format(first=first, last=first + limit - 1))[0])
        tail = median(tails)
        for _ in range(reps):
            baseline.append(_sweep(sh, n, latency, limit, window_s, pacing=False))
            paced.append(_sweep(sh, n, latency, limit, window_s, pacing=True))
        sh.run_line_magic("config", f"VeniceMagics.base_url = {free.base_url!r}")
    windows = math.ceil(n / limit)
    allowed = (windows - 1) * window_s + tail
    measured = median([r["seconds"] for r in paced])
    base = median([r["seconds"] for r in baseline])
    refused = max(r["429s"] for r in paced)
    complete = all(r["images"] == n and not r["errors"] for r in paced)
    ratio = measured / allowed
    return [
        Row(
            "rate limit: paced sweep vs the limit's time",
            measured,
            allowed,
            ratio,
            f"sweep/allowed <= {TARGET:.2f}, zero 429s",
            ratio <= TARGET and refused == 0 and complete,
            unit="s",
            note=(
                f"{n} images at concurrency {CONCURRENCY}, {limit} requests per {window_s:g} s "
                f"window, {latency * 1000:.0f} ms latency; allowed = {windows - 1} x "
                f"{window_s:g} s + {tail:.2f} s (a {limit}-image sweep, no limit); "
                f"paced: {refused} 429s, {measured:.1f} s; baseline (earlier gate: "
                f"pause only on 0 remaining or a 429): "
                f"{median([r['429s'] for r in baseline]):.0f} 429s, {base:.1f} s, "
                f"{min(r['images'] for r in baseline)} of {n} images; medians of {reps}"
            ),
            extra={"paced": paced, "baseline": baseline, "tail_s": tail, "allowed_s": allowed},
        ),
        Row(
            "rate limit: paced sweep vs earlier behaviour",
            measured,
            base,
            base / measured,
            "informational: the 429s it avoids",
            refused == 0,
            unit="s",
            informational=True,
            note=f"429s received: paced {refused}, baseline "
            + ", ".join(str(r["429s"]) for r in baseline),
        ),
    ]
