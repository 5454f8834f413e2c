"""Benchmark 8: a sweep against a server that died ends in bounded time, whatever its size.

The catalogue is read from a local preview server, which then stops: its port refuses
connections. A sweep of ``small`` cells and one of ``large`` cells run with the default retry
policy. Without the client's circuit breaker every cell retried in turn (a 32-cell sweep took
65 s, a 256-cell one ~9 min); with it, after 3 failed connections the rest fail at once. The target
is that the large sweep takes at most 2x the small one (time does not grow with the size).
"""

from __future__ import annotations

import time

from .common import BENCH_KEY, PROMPT, Row

TARGET = 2.0


def dead_sweep(size: int) -> float:
    """Seconds for a ``size``-cell sweep to fail against a server that stopped."""
    from venice_nb.operations.generate import GenerateRequest
    from venice_nb.server import LocalServer
    from venice_nb.session import VeniceSession
    from venice_nb.settings import Settings
    from venice_nb.sweep import Job, run_sweep

    server = LocalServer().start()
    settings = Settings(backend="venice", base_url=server.base_url, cache_enabled=False)
    session = VeniceSession(settings)
    session.login(BENCH_KEY)
    session.client().models()
    server.stop()
    jobs = [
        Job(GenerateRequest(model="z-image-turbo", prompt=PROMPT, seed=s, width=64, height=64))
        for s in range(1, size + 1)
    ]
    started = time.perf_counter()
    grid = run_sweep(session, jobs)
    took = time.perf_counter() - started
    assert len(grid.errors) == size and not grid.results
    session.client().close()
    return took


def run(small: int = 32, large: int = 256) -> list[Row]:
    small_s, large_s = dead_sweep(small), dead_sweep(large)
    ratio = large_s / small_s if small_s > 0 else float("inf")
    return [
        Row(
            f"dead server: {large}-cell vs {small}-cell sweep",
            large_s,
            small_s,
            ratio,
            f"large/small <= {TARGET:g}",
            ratio <= TARGET,
            unit="s",
            note=(
                f"a server that died after its catalogue was read: {small} cells fail in "
                f"{small_s:.2f} s, {large} in {large_s:.2f} s (before the circuit breaker: "
                "65 s for 32 cells, each retrying in turn)"
            ),
        )
    ]
