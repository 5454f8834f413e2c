"""Run every benchmark and print one table of ratios measured in this run.

    python -m benchmarks.run            # from the repo root, in the project's venv
    python -m benchmarks.run --write    # also write benchmarks/RESULTS.md
    python -m benchmarks.run --only sweep cache

A full run takes about four minutes on a 2-core machine (the rate-limit sweeps alone ~2). Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # ``python benchmarks/run.py`` works too
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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

BENCHMARKS: dict[str, Callable[[], list[Row]]] = {
    "overhead": bench_overhead.run,
    "sweep": bench_sweep.run,
    "cache": bench_cache.run,
    "weight": bench_weight.run,
    "load": bench_load.run,
    "memory": bench_memory.run,
    "ratelimit": bench_ratelimit.run,
    "deadserver": bench_deadserver.run,
    "bigimage": bench_bigimage.run,
    "panel": bench_panel.run,
    "firsttile": bench_firsttile.run,
    "toolbox": bench_toolbox.run,
    "redact": bench_redact.run,
    "classroom": bench_classroom.run,
    "batch": bench_batch.run,
}
HEADER = ["benchmark", "measured", "baseline", "ratio", "target", "result"]
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def table(rows: list[Row]) -> str:
    """A plain-text table for the terminal, then the notes."""
    lines = [HEADER, *(r.cells() for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append("")
    out.extend(f"- {r.benchmark}: {r.note}" for r in rows if r.note)
    return "\n".join(out)


def markdown(rows: list[Row], seconds: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"`python -m benchmarks.run --write` on {machine()}, {time.strftime('%Y-%m-%d')}, "
        f"full run {seconds:.0f} s. Ratios compare two things measured in the same run.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r.cells()) + " |")
    lines.append("")
    lines.extend(f"- **{r.benchmark}**: {r.note}" for r in rows if r.note)
    return "\n".join(lines) + "\n"


def machine() -> str:
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}{load}"
    )


def isolated(name: str) -> list[Row]:
    """Run one benchmark in an interpreter of its own: what an earlier one left behind (heap,
    threads, caches) must not slow the next (the 4K row measured 1.02 alone, 1.10 after nine
    others in one process). Both sides of each ratio are still measured in that one process."""
    with tempfile.TemporaryDirectory(prefix="venice-bench-") as scratch:
        out = Path(scratch) / "rows.json"
        subprocess.run(
            [sys.executable, "-m", "benchmarks.run", "--only", name, "--rows-json", str(out)],
            cwd=Path(__file__).resolve().parent.parent,
            check=True,
            timeout=1800,
        )
        return [Row(**row) for row in json.loads(out.read_text())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--write", action="store_true", help=f"write {RESULTS.name} as Markdown")
    ap.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    ap.add_argument("--rows-json", help=argparse.SUPPRESS)  # a child's answer to isolated()
    args = ap.parse_args(argv)
    # This process's own IPython shell must not touch the user's profile.
    os.environ.setdefault("IPYTHONDIR", tempfile.mkdtemp(prefix="venice-bench-ipython-"))
    os.environ.pop("VENICE_BASE_URL", None)
    if args.rows_json:
        name = args.only[0]
        found = BENCHMARKS[name]()
        Path(args.rows_json).write_text(json.dumps([asdict(r) for r in found], default=str))
        return 0
    rows: list[Row] = []
    failed: list[str] = []
    started = time.perf_counter()
    for name in args.only or list(BENCHMARKS):
        t0 = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(isolated(name))
        except Exception:
            failed.append(name)
            traceback.print_exc()
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    print(f"{machine()}; {seconds:.0f} s\n")
    print(table(rows))
    if failed:
        print(f"\nbenchmarks that could not run: {', '.join(failed)}")
    if args.write:
        if failed:
            print(f"not writing {RESULTS.name}: some benchmarks did not run")
        else:
            RESULTS.write_text(markdown(rows, seconds), encoding="utf-8")
            print(f"\nwrote {RESULTS}")
    return 0 if rows and not failed and all(r.passed or r.informational for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
