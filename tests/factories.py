"""Images, requests and results for tests, built one way: real encoded pixels, real objects.

Every test module that needs a picture, a ``GenerationResult`` or a sweep without a server builds
it here, so a change to what a result holds is made once.
"""

from __future__ import annotations

import base64
import io
import json
import random
from typing import Any

from PIL import Image

from venice_nb.errors import CapacityError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GeneratedImage, GenerationResult, SweepCell, SweepResult, Timing

# A plausible server timing: queue, preprocessing and inference inside one second of wall time.
TIMING = Timing(
    queue_ms=40.0, preprocessing_ms=10.0, inference_ms=700.0, total_ms=750.0, wall_ms=1000.0
)
_UNSET: Any = object()


def encode_image(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    """``im`` encoded as ``fmt`` ('png', 'jpeg', 'webp'; any case); ``kw`` goes to Pillow."""
    buf = io.BytesIO()
    im.save(buf, fmt.upper(), **kw)
    return buf.getvalue()


def encode(fmt: str, size: tuple[int, int] = (48, 32), colour=(200, 30, 90), **kw: Any) -> bytes:
    """A flat-colour image: small files, pixels easy to compare."""
    return encode_image(Image.new("RGB", size, colour), fmt, **kw)


def noisy(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """Random pixels: compresses like a detailed photo would (no tiny flat-colour files)."""
    rnd = random.Random(seed)
    return Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))


def noisy_bytes(
    fmt: str = "webp", size: tuple[int, int] = (48, 48), seed: int = 1, **kw: Any
) -> bytes:
    """Random pixels encoded: a different, realistic-sized file per ``seed``."""
    return encode_image(noisy(size, seed), fmt, **kw)


def image(
    fmt: str = "webp",
    size: tuple[int, int] = (64, 48),
    seed: int | None = 42,
    index: int = 0,
    **flags: Any,
) -> GeneratedImage:
    """A ``GeneratedImage`` of noisy pixels (different per ``index``)."""
    return GeneratedImage.from_bytes(
        noisy_bytes(fmt, size, index + 1), index=index, seed=seed, **flags
    )


def request(
    seed: int | None = 7, model: str = "z-image-turbo", prompt: str = "a gondola", **kw: Any
) -> GenerateRequest:
    return GenerateRequest(model=model, prompt=prompt, seed=seed, **kw)


def make_result(
    *images: bytes | GeneratedImage,
    request: GenerateRequest | None = None,
    seed: int | None = _UNSET,
    model: str = "z-image-turbo",
    prompt: str = "a gondola",
    id: str | None = "generate-image-abc",
    **kw: Any,
) -> GenerationResult:
    """A result as the client would build it, without a server.

    ``images`` are encoded bytes (the first gets ``seed``, the others a random one, as the API
    does) or ready ``GeneratedImage`` s; none gives one noisy WebP. ``seed`` defaults to the first
    image's, else 7. ``kw`` sets result fields (timing, cost_usd, cached, backend...).
    """
    first = images[0] if images else None
    if seed is _UNSET:
        seed = first.seed if isinstance(first, GeneratedImage) else 7
    built = [
        im
        if isinstance(im, GeneratedImage)
        else GeneratedImage.from_bytes(im, index=i, seed=seed if i == 0 else None)
        for i, im in enumerate(images)
    ] or [image(seed=seed)]
    if request is None:
        variants = len(built) if len(built) > 1 else None
        request = GenerateRequest(model=model, prompt=prompt, seed=seed, variants=variants)
    return GenerationResult(request=request, images=built, id=id, seed=seed, **kw)


def sample_sweep(fail_at=(2, 7.5)) -> SweepResult:
    """seed 1, 2 by cfg_scale 4, 7.5; the cell at ``fail_at`` failed with a CapacityError."""
    cells = []
    for seed in (1, 2):
        for cfg in (4.0, 7.5):
            params = {"seed": seed, "cfg_scale": cfg}
            if (seed, cfg) == fail_at:
                err = CapacityError("z-image-turbo is at capacity", status=503)
                cells.append(SweepCell(params, error=err))
                continue
            req = GenerateRequest(model="z-image-turbo", prompt="grid", seed=seed, cfg_scale=cfg)
            img = image("webp", (64, 64), seed=seed, index=0)
            timing = Timing(queue_ms=10.0, preprocessing_ms=5.0, inference_ms=300.0, wall_ms=400.0)
            cells.append(
                SweepCell(params, result=GenerationResult(req, [img], timing=timing, cost_usd=0.01))
            )
    return SweepResult(cells, rows="seed", cols="cfg_scale", wall_ms=450.0)


# ---- generate answers as JSON bytes (tests of wire.py and images_stream.py) ---------------------

IMG = [b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3, b"\xff\xd8\xff" + b"jpeg-ish" * 50, b"x"]
B64 = [base64.b64encode(x).decode() for x in IMG]


def image_json_reference(body: bytes) -> tuple[dict, list[bytes]]:
    """What plain json.loads + base64 gives: the fast path must agree with it exactly."""
    obj = json.loads(body)
    images = obj.pop("images")
    return obj, [base64.b64decode(s) for s in images]


META = {
    "id": "generate-image-1",
    "timing": {"inferenceDuration": 10, "total": 12},
    "request": {"success": True, "data": {"seed": -5, "prompt": 'say "images": [] please'}},
}
BODIES = {
    "compact": json.dumps({**META, "images": B64}, separators=(",", ":")).encode(),
    "spaced": json.dumps({"images": B64, **META}, indent=2).encode(),
    "images-last": json.dumps({**META, "images": B64[:1]}).encode(),
    "escaped-slashes": json.dumps({**META, "images": B64}).replace("/", "\\/").encode(),
    "nested-images-first": json.dumps(
        {"request": {"data": {"images": ["QUFB"]}}, "id": "x", "images": B64}
    ).encode(),
    "unicode-meta": json.dumps(
        {"id": "é", "images": B64, "request": {"data": {"prompt": "カナル"}}},
        ensure_ascii=False,
    ).encode(),
    "images-key-in-a-string": json.dumps(
        {"note": '"images": ["QUFB"]', "images": B64[1:]}
    ).encode(),
}


def live_session(base_url: str, save_dir: Any, key: str, **settings: Any) -> Any:
    """A session on the real ``venice`` path against a local server: no cache, no retries (unless
    ``settings`` say), saving into ``save_dir``, logged in with ``key``."""
    from venice_nb.session import VeniceSession
    from venice_nb.settings import Settings

    chosen = {"cache_enabled": False, "max_retries": 0, "save_dir": str(save_dir)}
    session = VeniceSession(Settings(backend="venice", base_url=base_url, **{**chosen, **settings}))
    session.login(key)
    return session
