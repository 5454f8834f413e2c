"""Benchmark 5: what ``%load_ext venice_nb`` adds to a fresh IPython.

Each run is a fresh interpreter (``python -c``) that imports IPython, creates the shell (the bare
start-up, timed) and then, in the measured runs, loads the extension (timed on its own with
``perf_counter``). Runs alternate with and without the extension; medians are compared. The child
also reports which heavy packages the load pulled in (PIL and ipywidgets must not be among them).
"""

from __future__ import annotations

import json

from .common import Row, clean_env, median, run_python

TARGET_MS = 50.0
WATCHED = ("PIL", "ipywidgets", "requests", "urllib3", "numpy", "IPython.display")

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
t1 = time.perf_counter()
before = set(sys.modules)
if {load!r}:
    sh.run_line_magic("load_ext", "venice_nb")
    assert "venice_nb" in sh.extension_manager.loaded
t2 = time.perf_counter()
new = sorted(set(sys.modules) - before)
print(json.dumps({{"startup_ms": (t1 - t0) * 1000, "load_ms": (t2 - t1) * 1000, "new": new}}))
"""


def measure_once(load: bool) -> dict:
    """One fresh interpreter: its start-up ms, its load ms, and the modules the load imported."""
    out = run_python(CHILD.format(load=load), env=clean_env())
    return json.loads(out.strip().splitlines()[-1])


def run(reps: int = 5) -> list[Row]:
    bare: list[float] = []
    loads: list[float] = []
    imported: set[str] = set()
    measure_once(True)  # warm the file system cache for both variants
    for _ in range(reps):
        bare.append(measure_once(False)["startup_ms"])
        child = measure_once(True)
        loads.append(child["load_ms"])
        imported.update(child["new"])
    startup, added = median(bare), median(loads)
    heavy = sorted({w for w in WATCHED if any(m == w or m.startswith(w + ".") for m in imported)})
    bad = [h for h in heavy if h in ("PIL", "ipywidgets")]
    note = f"load imported: {', '.join(heavy) or 'none of ' + '/'.join(WATCHED)}"
    note += f"; {len(imported)} new modules"
    return [
        Row(
            "load: %load_ext added time",
            added,
            startup,
            (startup + added) / startup,
            f"added <= {TARGET_MS:.0f} ms",
            added <= TARGET_MS and not bad,
            note=note + (f"; MISS because it imported {', '.join(bad)}" if bad else ""),
            extra={"startup_ms": bare, "load_ms": loads, "heavy_imports": heavy},
        )
    ]
