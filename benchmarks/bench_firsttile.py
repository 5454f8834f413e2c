"""Benchmark: the first tile early. A 16-cell sweep (4 seeds x 4 cfg values) at concurrency 4 against
a local server answering after 1 s, measured on the displayed output: every display and
``update_display`` the cell publishes is timestamped by a recording display publisher, and the
moment counted is the first published HTML that carries an image (a tile's data URI), from the
start of the cell. Baseline: one request's latency, as the client timed it (the HTTP call of a
single-image cell on the same server, median of 3). Target: first tile <= 1.25x that.
"""

from __future__ import annotations

import time
from typing import Any

from .common import PROMPT, Row, configured, median, run_cell

TARGET = 1.25
SWEEP = (
    "-m z-image-turbo --width 256 --height 256 --seed {s}:{e} --cfg-scale 4:7 --no-cache "
    "-o _bench_tile"
)
ONE = "-m z-image-turbo --width 256 --height 256 --seed {seed} --no-cache -o _bench_one"


def _recording_publisher(sh: Any) -> Any:
    from IPython.core.displaypub import DisplayPublisher

    class Recorder(DisplayPublisher):
        """Keeps (monotonic time, HTML) of every output the cell publishes."""

        def __init__(self) -> None:
            super().__init__(shell=sh)
            self.published: list[tuple[float, str]] = []

        def publish(self, data: Any, metadata: Any = None, *args: Any, **kwargs: Any) -> None:
            self.published.append((time.monotonic(), str(data.get("text/html", ""))))

    return Recorder()


def run(reps: int = 3, latency: float = 1.0, seeds: int = 4) -> list[Row]:
    from IPython.utils.capture import capture_output

    from venice_nb.server import LocalServer

    firsts: list[float] = []
    ones: list[float] = []
    with LocalServer(latency=latency) as server, configured(server.base_url) as sh:
        sh.run_line_magic("config", "VeniceMagics.concurrency = 4")
        run_cell(sh, ONE.format(seed=1))  # warm-up
        for i in range(3):
            run_cell(sh, ONE.format(seed=2 + i))
            ones.append(sh.user_ns.pop("_bench_one").timing.wall_ms / 1000)
        for rep in range(reps):
            recorder = _recording_publisher(sh)
            saved, sh.display_pub = sh.display_pub, recorder
            try:
                start_seed = 100 + rep * seeds
                cell = (
                    f"%%venice {SWEEP.format(s=start_seed, e=start_seed + seeds - 1)}\n{PROMPT}\n"
                )
                with capture_output(display=False):  # the publisher above takes the displays
                    started = time.monotonic()
                    outcome = sh.run_cell(cell, store_history=False)
            finally:
                sh.display_pub = saved
            if not outcome.success:
                raise RuntimeError(f"the sweep failed: {outcome.error_in_exec}")
            sweep = sh.user_ns.pop("_bench_tile")
            if len(sweep.images) != seeds * 4:
                raise RuntimeError(f"the sweep gave {len(sweep.images)} images")
            shown = [t for t, html in recorder.published if "data:image/" in html]
            if not shown:
                raise RuntimeError("no published output carried an image")
            firsts.append(shown[0] - started)
    first, one = median(firsts), median(ones)
    ratio = first / one
    return [
        Row(
            "first tile: 16-cell sweep, first image shown vs one request",
            first,
            one,
            ratio,
            f"ratio <= {TARGET}",
            ratio <= TARGET,
            unit="s",
            note=(
                f"{seeds * 4} cells 256x256 at concurrency 4, {latency:g} s latency; the first "
                f"published output with an image, from the cell's start (medians of {reps}); "
                "one request = the client's HTTP time of a single-image cell"
            ),
            extra={"first_s": firsts, "one_s": ones},
        )
    ]
