"""Benchmark 3: re-running a seeded ``%%venice`` cell (a cache hit) against its cold run.

Each repetition uses a fresh seed, so its first run is a genuine miss (300 ms latency on the local
server, then stored) and its re-runs are hits. Both are timed end to end through the shell,
display included, because that is what a person re-running a notebook waits for. The cache lives
in a temporary directory. A hit must send no request and be marked ``cached``.
"""

from __future__ import annotations

import tempfile

from .common import Row, configured, median, run_cell, timed

TARGET_HIT_MS = 30.0
TARGET_SPEEDUP = 20.0
LINE = "-m z-image-turbo --seed {seed} -o _bench_cache"


def run(reps: int = 5, hits_per_rep: int = 2, latency: float = 0.3) -> list[Row]:
    from venice_nb.display.html import result_bundle
    from venice_nb.server import LocalServer

    cold: list[float] = []
    hits: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="venice-bench-cache-") as cache_dir,
        LocalServer(latency=latency) as server,
        configured(server.base_url, cache_dir=cache_dir, cache_enabled=True) as sh,
    ):
        run_cell(sh, LINE.format(seed=999), body="warm-up")  # client, catalogue, first display
        for rep in range(reps):
            cell = LINE.format(seed=1000 + rep)
            before = server.generate_count
            cold.append(run_cell(sh, cell)[0])
            if sh.user_ns["_bench_cache"].cached or server.generate_count != before + 1:
                raise RuntimeError("the cold run did not reach the server")
            for _ in range(hits_per_rep):
                hits.append(run_cell(sh, cell)[0])
                if not sh.user_ns["_bench_cache"].cached:
                    raise RuntimeError("the re-run was not a cache hit")
            if server.generate_count != before + 1:
                raise RuntimeError("a cache hit sent a request")
        hit = sh.user_ns.pop("_bench_cache")
        display_ms = median([timed(lambda: result_bundle(hit))[0] for _ in range(5)]) * 1000
    hit_ms, cold_ms = median(hits) * 1000, median(cold) * 1000
    speedup = cold_ms / hit_ms
    note = (
        f"1024x1024 webp, {latency * 1000:.0f} ms latency, {reps} seeds x {hits_per_rep} hits; "
        f"of a hit, building the display bundle (preview downscale included) takes "
        f"{display_ms:.1f} ms"
    )
    return [
        Row(
            "cache: hit time",
            hit_ms,
            cold_ms,
            speedup,
            f"hit < {TARGET_HIT_MS:.0f} ms",
            hit_ms < TARGET_HIT_MS,
            note=note,
            extra={
                "hit_ms": [h * 1000 for h in hits],
                "cold_ms": [c * 1000 for c in cold],
                "display_ms": display_ms,
            },
        ),
        Row(
            "cache: hit vs cold run",
            hit_ms,
            cold_ms,
            speedup,
            f"cold/hit >= {TARGET_SPEEDUP:.0f}",
            speedup >= TARGET_SPEEDUP,
        ),
    ]
