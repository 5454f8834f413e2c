"""Benchmark 4: what a displayed image adds to the saved .ipynb, against the image's own bytes.

A small notebook (``%load_ext venice_nb``, one ``-n 4`` cell, one 4-seed sweep cell) is executed
by nbclient in a real kernel on the local preview backend (no key, as on Binder), then written
with nbformat twice: as executed, and with its outputs cleared. The weight is the difference in
file size over the sum of the raw image bytes. Images are the model's default 1024x1024, not above
the default preview size, so the notebook shows them as received (a downscaled preview would make
the ratio flatter us; the row then fails, because the received bytes are no longer in the file).
The note also counts how many times each image's base64 appears in the file: exactly once.
"""

from __future__ import annotations

import base64
import json
import tempfile

from .common import PROMPT, Row, execute_notebook, outputs_weight

TARGET = 1.40
STATS_MARK = "VENICE_BENCH_STATS "


def _cells(size: int, variants: int, seeds: int) -> list[str]:
    common = f"-m z-image-turbo --width {size} --height {size}"
    return [
        "%load_ext venice_nb",
        f"%%venice {common} -n {variants} --seed 5 -o first\n{PROMPT}",
        f"%%venice {common} --seed 1:{seeds} -o grid\n{PROMPT}",
        # measurement only: removed before the notebook is weighed
        "import base64, json\n"
        "ims = list(first.images) + list(grid.images)\n"
        "print(" + repr(STATS_MARK) + " + json.dumps([base64.b64encode(i.data).decode() "
        "for i in ims]))",
    ]


def run(size: int = 1024, variants: int = 4, seeds: int = 4, timeout: float = 120) -> list[Row]:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in _cells(size, variants, seeds)]
    with tempfile.TemporaryDirectory(prefix="venice-bench-nb-") as tmp:
        execute_notebook(nb, tmp, timeout)
        encoded = _stats(nb.cells.pop())  # measurement only: not weighed
        added, text = outputs_weight(nb, tmp)
    raw = sum(len(base64.b64decode(b)) for b in encoded)
    copies = [text.count(b[:200]) for b in encoded]
    ratio = added / raw
    n = len(encoded)
    markup = (added - sum(len(b) for b in encoded)) / n
    note = (
        f"{n} images {size}x{size} webp in 2 cells; per image {added / n:,.0f} B added for "
        f"{raw / n:,.0f} B raw, of which {markup:,.0f} B is not base64 (markup, metadata, "
        f"status lines); copies of each image in the file: {min(copies)}..{max(copies)}"
    )
    return [
        Row(
            "notebook weight: .ipynb bytes per image",
            added,
            raw,
            ratio,
            f"added/raw <= {TARGET:.2f}",
            ratio <= TARGET and min(copies) >= 1,
            unit="B",
            note=note,
            extra={"copies": copies, "images": n},
        )
    ]


def _stats(cell: dict) -> list[str]:
    for out in cell.get("outputs", []):
        text = out.get("text", "")
        if out.get("output_type") == "stream" and STATS_MARK in text:
            return json.loads(text.split(STATS_MARK, 1)[1])
    raise RuntimeError(f"the stats cell printed nothing usable: {cell.get('outputs')}")
