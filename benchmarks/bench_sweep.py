"""Benchmark 2: a 16-image sweep on a bounded pool against the same 16 one after another.

Both sides are the same ``%%venice`` cell (``--seed 1:4 --cfg-scale 4:7``: a 4x4 seed x cfg grid)
through the magic, so the only difference is ``VeniceMagics.concurrency`` (4 against 1). The local
server, in a process of its own (``benchmarks.serve``), takes 300 ms per request, its own render
included (as the service's time is its render; before, four renders queued on the server's one
core after the latency and the row read 1.14-1.16 of the ideal). Images are 256x256 so that the
render stays well inside the latency. ``--no-cache`` keeps the cache out. The ideal is
16 / 4 x latency.
"""

from __future__ import annotations

from .common import Row, configured, median, run_cell, served

TARGET_SPEEDUP = 3.5
TARGET_IDEAL = 1.15
CONCURRENCY = 4


def line(seeds: int, cfgs: int) -> str:
    return (
        f"-m z-image-turbo --width 256 --height 256 --seed 1:{seeds} "
        f"--cfg-scale 4:{3 + cfgs} --no-cache -o _bench_sweep"
    )


def run(reps: int = 3, latency: float = 0.3, seeds: int = 4, cfgs: int = 4) -> list[Row]:
    n = seeds * cfgs
    cell = line(seeds, cfgs)
    concurrent: list[float] = []
    sequential: list[float] = []
    with served("--latency", str(latency)) as base_url, configured(base_url) as sh:
        sh.run_line_magic("config", f"VeniceMagics.concurrency = {CONCURRENCY}")
        run_cell(sh, "-m z-image-turbo --width 256 --height 256 --seed 1 --no-cache")  # warm-up
        for _ in range(reps):
            sh.run_line_magic("config", f"VeniceMagics.concurrency = {CONCURRENCY}")
            concurrent.append(run_cell(sh, cell)[0])
            sweep = sh.user_ns.pop("_bench_sweep")
            sent = [r for r in sweep.results if not r.cached]
            if len(sweep.images) != n or sweep.errors or len(sent) != n:
                raise RuntimeError(f"the sweep gave {len(sweep.images)} images, {sweep.errors}")
            sh.run_line_magic("config", "VeniceMagics.concurrency = 1")
            sequential.append(run_cell(sh, cell)[0])
        sh.run_line_magic("config", f"VeniceMagics.concurrency = {CONCURRENCY}")
    conc, seq = median(concurrent), median(sequential)
    ideal = n / CONCURRENCY * latency
    speedup, vs_ideal = seq / conc, conc / ideal
    note = f"{n} images 256x256 via %%venice, {latency * 1000:.0f} ms latency, {reps} runs each"
    return [
        Row(
            "sweep: concurrency 4 vs sequential",
            conc,
            seq,
            speedup,
            f"sequential/sweep >= {TARGET_SPEEDUP}",
            speedup >= TARGET_SPEEDUP,
            unit="s",
            note=note,
            extra={"concurrent_s": concurrent, "sequential_s": sequential},
        ),
        Row(
            "sweep: concurrency 4 vs ideal",
            conc,
            ideal,
            vs_ideal,
            f"sweep/ideal <= {TARGET_IDEAL}",
            vs_ideal <= TARGET_IDEAL,
            unit="s",
            note=f"ideal = {n}/{CONCURRENCY} x {latency:g} s",
        ),
    ]
