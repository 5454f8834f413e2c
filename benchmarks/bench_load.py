"""Benchmark 5: what ``%load_ext venice_nb`` adds to a fresh IPython.

Each run is a fresh interpreter (``python -c``) that imports IPython, creates the shell (the bare
start-up, timed) and then, in the measured runs, loads the extension (timed on its own with
``perf_counter``). Runs alternate with and without the extension; medians are compared: the target
is start-up plus load within 1.10x of the bare start-up. All runs share a private bytecode cache
(``PYTHONPYCACHEPREFIX``) filled by a warm-up, so both sides load compiled modules as an installed
package does, rather than the load paying for compiling venice_nb's sources. The child also
reports which heavy modules the load pulled in; any of ``FORBIDDEN`` is a miss.
"""

from __future__ import annotations

import json
import tempfile

from .common import Row, clean_env, median, run_python

TARGET = 1.10
WATCHED = (
    "PIL",
    "ipywidgets",
    "requests",
    "urllib3",
    "numpy",
    "difflib",
    "bdb",
    "venice_nb.operations",
    "venice_nb.catalogue",
    "venice_nb.session",
    "IPython.display",
)
FORBIDDEN = WATCHED[:-1]  # IPython.display is IPython's own and cheap, shown for information

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


def measure_once(load: bool, pycache: str) -> dict:
    """One fresh interpreter: its start-up ms, its load ms, and the modules the load imported."""
    env = clean_env(PYTHONPYCACHEPREFIX=pycache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up writes the shared bytecode cache
    out = run_python(CHILD.format(load=load), env=env)
    return json.loads(out.strip().splitlines()[-1])


def run(reps: int = 9) -> list[Row]:
    bare: list[float] = []
    loads: list[float] = []
    imported: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="venice-bench-pyc-") as pycache:
        measure_once(True, pycache)  # compile both variants once, warm the file system cache
        for _ in range(reps):
            bare.append(measure_once(False, pycache)["startup_ms"])
            child = measure_once(True, pycache)
            loads.append(child["load_ms"])
            imported.update(child["new"])
    startup, added = median(bare), median(loads)
    ratio = (startup + added) / startup
    heavy = sorted({w for w in WATCHED if any(m == w or m.startswith(w + ".") for m in imported)})
    bad = [h for h in heavy if h in FORBIDDEN]
    ours = sorted(m for m in imported if m.startswith("venice_nb"))
    note = f"load imported: {', '.join(heavy) or 'none of ' + '/'.join(WATCHED)}"
    note += f"; {len(imported)} new modules, of venice_nb: {', '.join(ours)}"
    note += f"; added {added:.1f} ms to a {startup:.0f} ms start-up (medians of {reps})"
    return [
        Row(
            "load: %load_ext added time",
            added,
            startup,
            ratio,
            f"(start-up + load)/start-up <= {TARGET:.2f}",
            ratio <= TARGET and not bad,
            note=note + (f"; MISS because it imported {', '.join(bad)}" if bad else ""),
            extra={"startup_ms": bare, "load_ms": loads, "heavy_imports": heavy},
        )
    ]
