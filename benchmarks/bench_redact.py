"""Benchmark: what cutting URL credentials from every displayed output costs.

Every HTML output passes through ``redact_text`` (``venice_nb/redact.py``) before it reaches the
notebook, including grids holding megabytes of base64 images. The scan is linear (it jumps from
one ``://`` or ``@`` to the next), so it should be a small share of building that HTML: measured
is the redaction of a 3x3 sweep grid's bundle (PNG tiles of noise, so the base64 is large and
incompressible), baseline is building the bundle itself. Target: redaction at most 15% of it.
"""

from __future__ import annotations

import functools
import io
import random

from .common import Row, median, timed

TARGET = 0.15


def _noise_png(size: int, seed: int) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    im = Image.frombytes("RGB", (size, size), rng.randbytes(size * size * 3))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _grid() -> object:
    from venice_nb.operations.generate import GenerateRequest
    from venice_nb.result import GeneratedImage, GenerationResult, SweepCell, SweepResult

    cells = []
    for i in range(9):
        seed = i + 1
        request = GenerateRequest(model="z-image-turbo", prompt="noise", seed=seed)
        image = GeneratedImage.from_bytes(_noise_png(384, seed), index=0, seed=seed)
        result = GenerationResult(request=request, images=[image], id=f"r{i}", seed=seed)
        cells.append(SweepCell({"seed": seed}, request=request, result=result))
    return SweepResult(cells, cols="seed")


def run(reps: int = 7) -> list[Row]:
    from venice_nb.display.grid import sweep_bundle
    from venice_nb.redact import redact_value

    grid = _grid()
    build: list[float] = []
    redact: list[float] = []
    size = 0
    for _ in range(reps):
        took, bundle = timed(lambda: sweep_bundle(grid))  # type: ignore[arg-type]
        build.append(took * 1000)
        size = len(bundle[0]["text/html"])
        took, _ = timed(functools.partial(redact_value, bundle))
        redact.append(took * 1000)
    measured, baseline = median(redact), median(build)
    ratio = measured / baseline if baseline else 0.0
    return [
        Row(
            "redact: credentials cut from a 3x3 grid's HTML vs building it",
            measured,
            baseline,
            ratio,
            f"<= {TARGET:.2f}",
            ratio <= TARGET,
            note=f"{size / 1e6:.1f} MB of HTML",
        )
    ]
