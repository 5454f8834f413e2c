"""``%load_ext venice_nb`` stays light: a fresh interpreter registers the magics and nothing more.

Checked in a subprocess, because this test process has long since imported everything. The
machinery (requests, PIL, ipywidgets, the catalogue and request modules, difflib for suggestions,
bdb via the debugger) comes in with the first cell that needs it, not with ``%load_ext``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("PIL", "ipywidgets")
# Not imported by %load_ext: what the first cell needs, not what registering the magics needs.
NOT_AT_LOAD = (
    "PIL",
    "ipywidgets",
    "requests",
    "urllib3",
    "difflib",
    "bdb",
    "venice_nb.operations",
    "venice_nb.catalogue",
    "venice_nb.session",
    "venice_nb.parse",
    "venice_nb.client",
    "venice_nb.classroom",  # the gateway's optional extra: never at load
    "starlette",
    "uvicorn",
    "httpx",
)

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


def test_load_ext_imports_only_what_registering_the_magics_needs(tmp_path: Path) -> None:
    report = _run(CHILD, tmp_path)
    pulled = {
        name
        for name in NOT_AT_LOAD
        for module in report["new"]
        if module == name or module.startswith(name + ".")
    }
    assert not pulled, f"%load_ext venice_nb imported {sorted(pulled)}"
    ours = sorted(m for m in report["new"] if m.startswith("venice_nb"))
    # errors needs redact (stdlib re only) so no message can hold a URL's credentials
    assert ours == [
        "venice_nb", "venice_nb.errors", "venice_nb.magic_args", "venice_nb.magics", "venice_nb.redact",
        "venice_nb.retry_headers", "venice_nb.settings", "venice_nb.urls", "venice_nb.version",
    ]  # fmt: skip


def test_first_use_after_a_light_load_still_has_the_full_help_and_config(tmp_path: Path) -> None:
    """The parser is built on first use: ``%%venice?`` lists every option, ``%config`` reaches
    the kernel's session (made only then), and a bad option still gets its one line."""
    code = r"""
import json
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from venice_nb.session import get_session
sh = InteractiveShell.instance()
sh.run_line_magic("load_ext", "venice_nb")
with capture_output() as helped:
    sh.run_cell("%%venice?")
sh.run_line_magic("config", "VeniceMagics.concurrency = 7")
with capture_output() as refused:
    sh.run_cell("%%venice --sed 3\na fox")
print(json.dumps({
    "help": helped.stdout, "concurrency": get_session().settings.concurrency,
    "refused": refused.stderr,
}))
"""
    report = _run(code, tmp_path)
    for option in ("--cfg-scale", "--aspect-ratio", "--no-cache", "--output"):
        assert option in report["help"]
    assert "start:stop[:step]" in report["help"]
    assert report["concurrency"] == 7
    assert "unknown option '--sed'; did you mean '--seed'" in report["refused"]


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
