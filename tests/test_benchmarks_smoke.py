"""Each benchmark runs in a tiny configuration and returns well-formed rows.

No timing assertions (speed goals live in ``python -m benchmarks.run``): these only make sure the
harness keeps working as the code it measures changes.
"""

from __future__ import annotations

import math

import pytest

from benchmarks import (
    bench_batch,
    bench_bigimage,
    bench_cache,
    bench_classroom,
    bench_deadserver,
    bench_firsttile,
    bench_load,
    bench_memory,
    bench_overhead,
    bench_panel,
    bench_ratelimit,
    bench_redact,
    bench_sweep,
    bench_toolbox,
    bench_weight,
)
from benchmarks.common import Row
from benchmarks.run import markdown, table

pytestmark = pytest.mark.slow  # a server, a browser or whole notebooks: not the fast loop


def check(rows: list[Row], count: int) -> None:
    assert len(rows) == count
    for row in rows:
        assert isinstance(row, Row)
        for value in (row.measured, row.baseline, row.ratio):
            assert isinstance(value, float) and math.isfinite(value) and value > 0, row
        assert isinstance(row.passed, bool)
        assert row.target and row.benchmark
        cells = row.cells()
        expected = "INFO" if row.informational else ("PASS" if row.passed else "MISS")
        assert len(cells) == 6 and cells[-1] == expected


def test_overhead_runs() -> None:
    rows = bench_overhead.run(reps=1, latency=0.0)
    check(rows, 1)
    assert len(rows[0].extra["magic_ms"]) == len(rows[0].extra["plain_ms"]) == 1


def test_sweep_runs() -> None:
    rows = bench_sweep.run(reps=1, latency=0.02, seeds=2, cfgs=2)
    check(rows, 2)
    assert rows[1].baseline == pytest.approx(4 / 4 * 0.02)


def test_cache_runs() -> None:
    rows = bench_cache.run(reps=1, hits_per_rep=1, latency=0.0)
    check(rows, 2)
    assert len(rows[0].extra["hit_ms"]) == 1


def test_weight_runs() -> None:
    rows = bench_weight.run(size=64, variants=1, seeds=2)
    check(rows, 1)
    assert rows[0].extra["images"] == 3
    assert min(rows[0].extra["copies"]) >= 1  # every image is in the saved notebook


def test_load_runs() -> None:
    rows = bench_load.run(reps=1)
    check(rows, 1)
    assert "PIL" not in rows[0].extra["heavy_imports"]


def test_memory_runs() -> None:
    rows = bench_memory.run(n=1, resolution="1K", photographic=True)
    check(rows, 2)
    procedural, photo = (r.extra for r in rows)
    assert procedural["sizes"] == photo["sizes"] == [[1024, 1024]]
    assert photo["raw"] > procedural["raw"]  # the proxy's grain makes the PNGs heavier
    assert rows[0].informational and not rows[1].informational  # only the photo row is held to 4x


def test_ratelimit_runs() -> None:
    rows = bench_ratelimit.run(reps=1, n=8, latency=0.02, limit=4, window_s=1.0)
    check(rows, 2)
    paced = rows[0].extra["paced"][0]
    assert paced["images"] == 8 and paced["429s"] == 0  # paced from the headers: no 429
    assert rows[1].informational


def test_bigimage_runs() -> None:
    rows = bench_bigimage.run(reps=1, size=(1280, 720), resolution="1K")
    check(rows, 2)
    assert rows[1].extra["sizes"] == [[1280, 720]]


def test_panel_runs() -> None:
    rows = bench_panel.run(reps=1, latency=0.02, size=256)
    check(rows, 2)
    assert len(rows[0].extra["to_wire_ms"]) == len(rows[1].extra["to_widget_ms"]) == 1


def test_firsttile_runs() -> None:
    rows = bench_firsttile.run(reps=1, latency=0.05, seeds=2)
    check(rows, 1)
    assert rows[0].extra["first_s"][0] > 0


def test_toolbox_runs() -> None:
    rows = bench_toolbox.run(reps=1, latency=0.0)
    check(rows, 3)
    assert [r.benchmark.split(":")[1].split(" via")[0].strip() for r in rows] == [
        "upscale",
        "edit",
        "background removal",
    ]


def test_table_and_markdown() -> None:
    rows = [
        Row("a", 10.0, 5.0, 2.0, "ratio <= 3", True),
        Row("b|c", 1.5, 1.0, 1.5, "x <= 1", False, unit="MB", note="why"),
    ]
    text = table(rows)
    assert "PASS" in text and "MISS" in text and "- b|c: why" in text
    md = markdown(rows, 12.0)
    assert "| b\\|c | 1.5 MB | 1.0 MB | 1.50 | x <= 1 | MISS |" in md


def test_deadserver_runs() -> None:
    rows = bench_deadserver.run(small=4, large=8)
    check(rows, 1)


def test_redact_runs() -> None:
    rows = bench_redact.run(reps=1)
    check(rows, 1)
    assert "MB of HTML" in rows[0].note


def test_classroom_runs() -> None:
    pytest.importorskip("starlette")
    rows = bench_classroom.run(reps=2)
    check(rows, 1)
    assert len(rows[0].extra["via_ms"]) == len(rows[0].extra["direct_ms"]) == 2


def test_batch_runs() -> None:
    rows = [
        bench_batch.pace(n=6, latency=0.01, limit=3, window_s=1.0),
        bench_batch.memory(small=2, large=4, size=128),
        bench_batch.weight(n=3, size=128),
    ]
    check(rows, 3)
    assert rows[0].extra["429s"] >= 0  # counted (a 1 s window is too short to promise none)
    assert rows[2].extra["added"] > 0
