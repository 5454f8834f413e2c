"""Benchmark: the panel responds at once (headless, driven from Python).

A ``Panel`` on a local server (1024x1024 WebP, 300 ms latency) is clicked through its Generate
button. Three moments are taken: the click, the request's arrival at the server (its own clock,
the same machine's), and the images landing in the panel's grid (observed on the timing line,
which the panel sets right after the grid). The client's side of the network is timed by the rate gate, which sees every
answer the moment its body has been read (``finish``). Two rows, each against the network
round trip of the same request: click -> request on the wire, and response read -> images in the
widget; each must add at most 50 ms. Medians of several clicks.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from .common import BENCH_KEY, Row, median

TARGET_MS = 50.0


def run(reps: int = 7, latency: float = 0.3, size: int = 1024) -> list[Row]:
    from venice_nb.panel.app import Panel
    from venice_nb.ratelimit import RateGate
    from venice_nb.server import LocalServer
    from venice_nb.session import VeniceSession
    from venice_nb.settings import Settings

    class TimedGate(RateGate):
        """Notes when each answer has been read and when its request went out."""

        def __init__(self) -> None:
            super().__init__()
            self.answers: list[tuple[float, float]] = []  # (sent, read), time.monotonic

        def finish(self, ticket: Any, headers: Any, status: int | None = None) -> None:
            if ticket is not None and status == 200:
                self.answers.append((ticket.sent_at, time.monotonic()))
            super().finish(ticket, headers, status)

    to_wire: list[float] = []
    to_widget: list[float] = []
    network: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="venice-bench-panel-") as tmp,
        LocalServer(latency=latency) as server,
    ):
        settings = Settings(
            backend="venice", base_url=server.base_url, cache_enabled=False,
            save_dir=str(Path(tmp) / "saved"),
        )  # fmt: skip
        session = VeniceSession(settings)
        session.login(BENCH_KEY)
        gate = TimedGate()
        session.client().gate = gate
        panel = Panel(session=session, seed=1, width=size, height=size, format="webp")
        shown: list[float] = []
        # _show sets the timing line right after the grid (new cells or new values in them)
        panel.timing.observe(lambda _c: shown.append(time.monotonic()), names="value")
        try:
            for rep in range(reps + 1):  # the first click warms up (catalogue, imports, PIL)
                panel.seed.value = 100 + rep
                before = len(server.received)
                shown.clear()
                click_wall, click = time.time(), time.monotonic()
                panel.generate_button.click()
                if not panel.wait_idle(60) or not shown:
                    raise RuntimeError(f"the panel did not show a result: {panel.status_text}")
                arrived = [r for r in server.received[before:] if r.path.endswith("/generate")]
                sent, read = gate.answers[-1]
                if rep == 0:
                    continue
                to_wire.append((arrived[0].time - click_wall) * 1000)
                to_widget.append((shown[-1] - read) * 1000)
                network.append((read - sent) * 1000)
                del click
        finally:
            panel.close()
    wire, widget, net = median(to_wire), median(to_widget), median(network)
    note = f"{size}x{size} webp, {latency * 1000:.0f} ms latency, {reps} clicks; medians"
    return [
        Row(
            "panel: Generate click to request on the wire",
            wire + net,
            net,
            (wire + net) / net,
            f"added <= {TARGET_MS:.0f} ms",
            wire <= TARGET_MS,
            note=f"{note}; added {wire:.1f} ms (click to arrival at the server)",
            extra={"to_wire_ms": to_wire, "network_ms": network},
        ),
        Row(
            "panel: response to images in the widget",
            widget + net,
            net,
            (widget + net) / net,
            f"added <= {TARGET_MS:.0f} ms",
            widget <= TARGET_MS,
            note=f"{note}; added {widget:.1f} ms (answer read to the images in the grid)",
            extra={"to_widget_ms": to_widget},
        ),
    ]
