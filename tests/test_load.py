"""``%load_ext venice_nb`` stays light: a fresh interpreter loads it without PIL or ipywidgets.

Checked in a subprocess, because this test process has long since imported both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("PIL", "ipywidgets")

CHILD = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
before = set(sys.modules)
sh.run_line_magic("load_ext", "venice_nb")
after = set(sys.modules)
print(json.dumps({
    "loaded": "venice_nb" in sh.extension_manager.loaded,
    "cell_magic": "venice" in sh.magics_manager.magics["cell"],
    "line_magic": "venice" in sh.magics_manager.magics["line"],
    "new": sorted(after - before),
    "top": sorted({m.split(".")[0] for m in after}),
}))
"""


def _run(code: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENICE_")}
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_load_ext_registers_magics_without_pil_or_ipywidgets(tmp_path: Path) -> None:
    report = _run(CHILD, tmp_path)
    assert report["loaded"] and report["cell_magic"] and report["line_magic"]
    assert any(m.startswith("venice_nb") for m in report["new"])
    for heavy in HEAVY:
        assert heavy not in report["top"], f"%load_ext venice_nb imported {heavy}"


def test_import_venice_nb_alone_is_light(tmp_path: Path) -> None:
    code = (
        "import json, sys, venice_nb\n"
        "print(json.dumps({'top': sorted({m.split('.')[0] for m in sys.modules}), "
        "'version': venice_nb.__version__}))"
    )
    report = _run(code, tmp_path)
    assert report["version"]
    for heavy in (*HEAVY, "requests", "IPython"):
        assert heavy not in report["top"], f"import venice_nb imported {heavy}"
