"""A notebook that takes the API key everywhere a leak could happen, run headless with nbclient.

Used by ``test_secrets.py``. The kernel gets the canary key in ``VENICE_API_KEY`` and the test
server in ``VENICE_BASE_URL``; the notebook then uses the magic (a plain generation, a cached
replay, a sweep, ``--save`` in three formats, ``-o``, the OpenAI route, a batch through a base URL
with user:password and its contact sheets), the panel (generate, save,
a 401 in its status line), ``%venice login`` (getpass answered from the environment, as a user
would type it), ``%venice config``, ``%config VeniceMagics``, ``%whos``, the reprs and strs of every
object that holds or reaches the key, and the errors 401 and 402 from the magic and from the Python
API with ``%xmode Verbose`` (tracebacks that print the local variables of every frame). Cells
expected to fail are tagged ``raises-exception``; any other error stops the run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

ERROR_TAG = "raises-exception"

REPRS = """\
from venice_nb import get_session
session = get_session()
magics_obj = get_ipython().magics_manager.registry["VeniceMagics"]
for obj in (session.client(), session, magics_obj, session.settings, session.describe()):
    print(type(obj).__name__, "repr:", repr(obj))
    print(type(obj).__name__, "str:", str(obj))
print("client vars:", vars(session.client()))
"""

PANEL = """\
from venice_nb import Panel
panel = Panel(prompt="{mark} the panel", seed=21, format="jpeg", embed_exif_metadata=True)
panel.generate_button.click()
assert panel.wait_idle(60), "the panel did not finish"
assert panel.status_state == "ok", panel.status_text
print(panel.save())
print(repr(panel), panel.status_text)
panel
"""

PANEL_401 = """\
p401 = Panel(prompt="{mark} the panel refused", seed=33)
p401.generate_button.click()
assert p401.wait_idle(60)
assert p401.status_state == "error", p401.status_text
print(p401.status_text)
p401
"""

# The kernel process's own stdout/stderr (not the notebook's streams): the control that the test
# reads the right files.
KERNEL_STREAMS = """\
import os
os.write(1, "{mark} kernel fd 1\\n".encode()); os.write(2, "{mark} kernel fd 2\\n".encode())
"""

LOGIN = """\
import getpass, os
getpass.getpass = lambda prompt="": os.environ["VENICE_API_KEY"]  # what the user would type
%venice login
"""

API_401 = """\
from venice_nb import GenerateRequest
get_session().client().generate(GenerateRequest(model="z-image-turbo", prompt="{mark} api 401"))
"""

API_ERROR_VARS = """\
try:
    get_session().client().generate(GenerateRequest(model="z-image-turbo", prompt="{mark} vars"))
except Exception as exc:
    print(repr(exc)); print(str(exc)); print(vars(exc))
"""

API_402 = """\
from venice_nb import VeniceClient
VeniceClient(base_url="{url402}").generate(
    GenerateRequest(model="z-image-turbo", prompt="{mark} api 402")
)
"""

# A batch (manifest, images + sidecars, thumbnails, the gallery in the notebook) and its contact
# sheets, sent through a base URL with user:password taken from the environment (so the notebook's
# source does not hold the password itself): neither the key nor the password may land there.
BATCH_URL = """\
import os
get_ipython().magics_manager.registry["VeniceMagics"].base_url = os.environ["CANARY_CREDENTIALS_URL"]
"""

BATCH_SHEETS = """\
print(lot.contact_sheet("sheets/lot.png"), lot.contact_sheet("sheets/lot.html"))
print(repr(lot), repr(lot.images), lot.rows[0])
lot
"""

# A connection setting that makes building the client fail inside the session (a traceback
# through the frame that hands the key to the client).
BAD_BASE_URL = """\
get_session().configure(base_url="ftp://not-http.invalid")
get_session().client()
"""


def build(mark: str, main_url: str, url401: str, url402: str, work: Path) -> Any:
    """The notebook. ``mark`` goes into every prompt (the control string of the search)."""
    cells: list[tuple[str, bool]] = [
        ("%load_ext venice_nb\n%xmode Verbose", False),
        (
            '%config VeniceMagics.backend = "venice"\n'
            f'%config VeniceMagics.cache_dir = "{work / "cache"}"\n'
            f'%config VeniceMagics.save_dir = "{work / "panel-saved"}"\n'
            "%config VeniceMagics.cache_enabled = True\n"
            "%config VeniceMagics.max_retries = 0",
            False,
        ),
        (f"%%venice -s 11 --embed-exif -o first\n{mark} a lighthouse at dusk", False),
        (f"%%venice -s 11 --embed-exif -o again\n{mark} a lighthouse at dusk", False),
        ("assert again.cached, 'the replay should come from the cache'", False),
        (f"%%venice -s 1,2 -c 4:6:2 -o grid\n{mark} a sweep of lighthouses", False),
        (f"%%venice -s 3 -f png --save saved/png\n{mark} saved as png", False),
        (f"%%venice -s 4 -f jpeg --embed-exif --save saved/jpeg\n{mark} jpeg with exif", False),
        (f"%%venice -s 5 --save saved/webp\n{mark} saved as webp", False),
        (f"%%venice -s 6,7 --save saved/sweep\n{mark} a saved sweep", False),
        (f"%%venice --openai -o oa\n{mark} through the openai route", False),
        # The toolbox: inputs, lineage, sidecars, cache entries and the before/after view
        (f"%%venice edit -i first -o edited --save saved/edit\n{mark} make it night", False),
        ("%venice upscale first --scale 2 -o big --save saved/upscale", False),
        ("%venice upscale first --scale 2", False),
        ("%venice remove-background first --compare --save saved/cut", False),
        ("print(repr(edited), edited.provenance(), big.lineage); edited.compare()", False),
        ("print(repr(first)); print(first.provenance()); print(repr(grid)); first", False),
        (BATCH_URL, False),
        (f"%%venice -s 40:42 --embed-exif --batch batch -o lot\n{mark} a batch of lanterns", False),
        (BATCH_SHEETS, False),
        (f'%config VeniceMagics.base_url = "{main_url}"', False),
        (PANEL.format(mark=mark), False),
        (KERNEL_STREAMS.format(mark=mark), False),
        (LOGIN, False),
        (f"%%venice -s 12 -o after_login\n{mark} after login", False),
        ("%venice config", False),
        ("%config VeniceMagics", False),
        (REPRS, False),
        (f'%config VeniceMagics.base_url = "{url401}"', False),
        (f"%%venice -s 31\n{mark} refused with 401", True),
        (PANEL_401.format(mark=mark), False),
        (API_401.format(mark=mark), True),
        (API_ERROR_VARS.format(mark=mark), False),
        (f'%config VeniceMagics.base_url = "{url402}"', False),
        (f"%%venice -s 32\n{mark} refused with 402", True),
        (API_402.format(mark=mark, url402=url402), True),
        (BAD_BASE_URL, True),
        (f'%config VeniceMagics.base_url = "{main_url}"', False),
        ("%whos", False),
        ("%venice logout", False),
        (REPRS, False),
        ("%venice config", False),
    ]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for source, fails in cells:
        cell = nbformat.v4.new_code_cell(source)
        if fails:
            cell.metadata["tags"] = [ERROR_TAG]
        nb.cells.append(cell)
    return nb


@dataclass(frozen=True)
class Executed:
    nb: Any
    path: Path
    kernel_stdout: Path
    kernel_stderr: Path


def execute(nb: Any, root: Path, env: Mapping[str, str], timeout: int = 120) -> Executed:
    """Run ``nb`` with its kernel in ``root/work`` (stdout/stderr into files under ``root``) and
    write the executed notebook, widget state included, to ``root/canary.ipynb``."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    # No kernel directories: "python3" is ipykernel on this interpreter (the venv), never a
    # kernel.json found elsewhere on the machine.
    km = AsyncKernelManager(
        kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[])
    )
    client = NotebookClient(
        nb,
        km=km,
        kernel_name="python3",
        timeout=timeout,
        store_widget_state=True,
        record_timing=False,
        resources={"metadata": {"path": str(work)}},
    )
    out, err = root / "kernel.stdout", root / "kernel.stderr"
    kernel_env = {**os.environ, **env}
    with out.open("wb") as fo, err.open("wb") as fe:
        try:
            client.execute(env=kernel_env, stdout=fo, stderr=fe)
        finally:
            path = root / "canary.ipynb"
            nbformat.write(nb, path)
    return Executed(nb, path, out, err)
