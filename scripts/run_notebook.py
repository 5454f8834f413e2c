"""Execute a notebook headless and say what it showed: ``python scripts/run_notebook.py IN OUT``.

Used by ``scripts/quickstart.sh``, by the notebook tests and by the Binder test. The kernel is the
``python3`` of the interpreter running this script (not whatever ``python`` is first on PATH), so a
venv runs its own notebooks. Widget state is stored in the output notebook, like JupyterLab's
"save widget state". The exit status is non-zero when any cell produced an error output.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY_VARS = ("VENICE_API_KEY", "VENICE_BASE_URL")
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
IMAGE_MIMES = ("image/png", "image/jpeg", "image/webp", "image/gif")
DATA_URI = re.compile(r"""src=["']data:image/(png|jpeg|webp|gif);base64,""")


@dataclass
class Summary:
    """What one run produced, counted from the executed notebook."""

    cells_run: int = 0
    images: int = 0
    widget_models: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def describe(self) -> str:
        line = (
            f"{self.cells_run} cells run, {self.images} images shown, "
            f"{self.widget_models} widget models stored, {len(self.errors)} errors "
            f"({self.seconds:.1f} s)"
        )
        return "\n".join([line, *(f"  error: {e}" for e in self.errors)])


def iter_outputs(nb: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(cell index, output) for every code cell output."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                yield index, output


def count_images(output: Mapping[str, Any]) -> int:
    """Images in one output: image/* bundles plus data-URI <img> tags in its HTML."""
    data = output.get("data", {})
    count = 1 if any(mime in data for mime in IMAGE_MIMES) else 0  # one image, several encodings
    html = data.get("text/html", "")
    if isinstance(html, list):
        html = "".join(html)
    return count + len(DATA_URI.findall(html))


def summarize(nb: Any, failed: Mapping[int, str] | None = None, seconds: float = 0.0) -> Summary:
    """Count cells, images and errors. ``failed``: cells whose reply said error, by index."""
    summary = Summary(seconds=seconds)
    summary.cells_run = sum(
        1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count") is not None
    )
    errors: dict[int, str] = {}
    for index, output in iter_outputs(nb):
        summary.images += count_images(output)
        if output.get("output_type") == "error" and index not in errors:
            errors[index] = f"{output.get('ename')}: {str(output.get('evalue', ''))[:300]}"
    # A UsageError (how magics refuse bad input) is printed to stderr, not sent as an error
    # output, yet the cell's reply says "error": those count too.
    for index, reason in (failed or {}).items():
        errors.setdefault(index, reason)
    summary.errors = [f"cell {i}: {reason}" for i, reason in sorted(errors.items())]
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    summary.widget_models = len(state)
    summary.images += widget_images(state)
    return summary


def widget_images(state: Mapping[str, Any]) -> int:
    """Images held by stored widget models (Image widgets, or HTML widgets with data URIs)."""
    count = 0
    for model in state.values():
        st = model.get("state", {})
        if model.get("model_name") == "ImageModel" and (
            st.get("value") or any(b.get("path") == ["value"] for b in model.get("buffers", []))
        ):
            count += 1
        value = st.get("value")
        if isinstance(value, str):
            count += len(DATA_URI.findall(value))
    return count


def kernel_env(drop_key: bool, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if drop_key:
        for name in KEY_VARS:
            env.pop(name, None)
    env.update(extra or {})
    return env


def make_client(nb: Any, timeout: float, cwd: Path, failed: dict[int, str]) -> Any:
    """An nbclient whose kernel is ipykernel on ``sys.executable`` (no kernelspec lookup on disk)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    # With no kernel directories, "python3" resolves to ipykernel's own spec, built from
    # sys.executable: a kernel.json elsewhere on the machine cannot swap in another Python.
    specs = KernelSpecManager(kernel_dirs=[])
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=specs)

    def on_cell_error(cell: Any, cell_index: int, execute_reply: Mapping[str, Any]) -> None:
        content = execute_reply.get("content", {})
        stderr = "".join(
            o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr"
        ).strip()
        evalue = content.get("evalue") or (stderr.splitlines() or ["(no message)"])[-1]
        failed[cell_index] = f"{content.get('ename') or 'error'}: {str(evalue)[:300]}"

    return NotebookClient(
        nb,
        on_cell_error=on_cell_error,
        km=km,
        timeout=int(timeout),
        kernel_name="python3",
        allow_errors=True,
        store_widget_state=True,
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )


def run_notebook(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
    *,
    timeout: float = 120.0,
    cwd: str | os.PathLike[str] | None = None,
    drop_key: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[Any, Summary]:
    """Execute ``src`` top to bottom; write it to ``dst``; return (notebook, summary).

    Every cell runs even after an error (each error is listed), so one run shows all failures.
    ``cwd`` is the kernel's working directory (default: the folder of ``dst``, else of ``src``).
    """
    import nbformat

    nb = nbformat.read(src, as_version=4)
    workdir = Path(cwd or Path(dst or src).resolve().parent)
    workdir.mkdir(parents=True, exist_ok=True)
    failed: dict[int, str] = {}
    client = make_client(nb, timeout, workdir, failed)
    started = time.monotonic()
    try:
        # The kernel manager is ours, so nbclient would leave the kernel running: stop it.
        client.execute(cleanup_kc=True, env=kernel_env(drop_key, env))
    finally:
        seconds = time.monotonic() - started
        if dst is not None:
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dst)
    return nb, summarize(nb, failed, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="notebook to run")
    parser.add_argument("dst", help="where to write the executed copy")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per cell (120)")
    parser.add_argument("--cwd", help="kernel working directory (default: the folder of DST)")
    parser.add_argument(
        "--no-key",
        action="store_true",
        help="remove VENICE_API_KEY and VENICE_BASE_URL from the kernel's environment",
    )
    args = parser.parse_args(argv)
    try:
        _, summary = run_notebook(
            args.src, args.dst, timeout=args.timeout, cwd=args.cwd, drop_key=args.no_key
        )
    except Exception as exc:  # kernel died, timeout, unreadable notebook: one line, non-zero
        print(f"{args.src}: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    print(f"{args.src} -> {args.dst}: {summary.describe()}")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
