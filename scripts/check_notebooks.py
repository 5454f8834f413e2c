"""Committed notebooks carry no outputs: ``python scripts/check_notebooks.py [--strip] [NB...]``.

Outputs hold images (megabytes in git), execution counts make noisy diffs, and widget state is only
meaningful for the run that made it. Without ``--strip`` this lists what is dirty and exits 1; with
``--strip`` it cleans the files in place. Default: every notebook in ``notebooks/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUN_METADATA = ("widgets", "execution", "papermill")  # notebook-level keys a run leaves behind
CELL_RUN_METADATA = ("execution", "collapsed", "scrolled")


def problems(nb: Any) -> list[str]:
    """What makes ``nb`` not clean, one line each."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {index} has {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {index} has execution_count {cell.execution_count}")
        for key in CELL_RUN_METADATA:
            if key in cell.metadata:
                found.append(f"cell {index} has metadata {key!r}")
    for key in RUN_METADATA:
        if key in nb.metadata:
            found.append(f"notebook metadata has {key!r}")
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        found.append("kernelspec is not python3")
    return found


def strip(nb: Any) -> Any:
    """Remove outputs, execution counts and run metadata; set the python3 kernelspec."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in CELL_RUN_METADATA:
            cell.metadata.pop(key, None)
    for key in RUN_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    return nb


def main(argv: list[str] | None = None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--strip", action="store_true", help="clean the notebooks in place")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    dirty = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        found = problems(nb)
        if args.strip:
            if found:
                nbformat.validate(strip(nb))
                nbformat.write(nb, path)
                print(f"{path}: stripped")
        elif found:
            dirty += 1
            print(f"{path}: " + "; ".join(found))
    if dirty:
        print(f"{dirty} notebook(s) not clean: python scripts/check_notebooks.py --strip")
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main())
