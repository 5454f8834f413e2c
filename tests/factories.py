"""Images and results for tests, built one way: real encoded pixels, real result objects.

Every test module that needs a picture or a ``GenerationResult`` without a server builds it here,
so a change to what a result holds is made once.
"""

from __future__ import annotations

import io
import random
from typing import Any

from PIL import Image

from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GeneratedImage, GenerationResult


def encode(fmt: str, size: tuple[int, int] = (48, 32), colour=(200, 30, 90), **kw: Any) -> bytes:
    """A flat-colour image in ``fmt`` ('png', 'jpeg', 'webp'; any case)."""
    return encode_image(Image.new("RGB", size, colour), fmt, **kw)


def encode_image(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt.upper(), **kw)
    return buf.getvalue()


def noisy(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """Random pixels: compresses like a detailed photo would (no tiny flat-colour files)."""
    rnd = random.Random(seed)
    return Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))


def image(
    fmt: str = "webp", size=(64, 48), seed: int | None = 42, index: int = 0, **flags: Any
) -> GeneratedImage:
    """A ``GeneratedImage`` of noisy pixels (different per ``index``)."""
    data = encode_image(noisy(size, index + 1), fmt)
    return GeneratedImage.from_bytes(data, index=index, seed=seed, **flags)


def make_result(
    *datas: bytes,
    id: str | None = "generate-image-abc",
    model: str = "z-image-turbo",
    prompt: str = "a gondola",
    seed: int = 7,
    **kw: Any,
) -> GenerationResult:
    """A result of ``datas`` (encoded images) for a seeded request; ``kw`` sets result fields."""
    request = GenerateRequest(model=model, prompt=prompt, seed=seed)
    images = [
        GeneratedImage.from_bytes(d, index=i, seed=seed if i == 0 else None)
        for i, d in enumerate(datas)
    ]
    return GenerationResult(request=request, images=images, id=id, seed=seed, **kw)
