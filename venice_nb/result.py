"""What a generation gives back: images as received, plus everything the API told us about them.

Images stay the bytes the server sent (no decode, no re-encode); their format comes from their magic
bytes, never from what we asked for (``image_format.py``). Size is read from the header, else
lazily via Pillow, which is only imported then. ``save()`` is ``saving.save_result``: atomic, never overwriting, never outside the
target directory.
"""

from __future__ import annotations

import copy
import inspect
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import (
    InvalidResponseError,
    NotSentError,
    UnexpectedArgumentError,
    VeniceError,
    redact_url,
)
from .image_format import header_size, image_problem, sniff_format
from .maker import Maker, maker_of, origin_of
from .saving import save_result
from .text import format_ms, plural

if TYPE_CHECKING:  # pragma: no cover
    from PIL.Image import Image

    from .lineage import Lineage
    from .operations.request import Request

# The timing bar's words for the segments whose names are not words already.
SEGMENT_LABELS = {"rest": "network & decoding", "wall": "wall time", "retry": "waiting to retry"}
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
EXTENSION = {"png": "png", "jpeg": "jpg", "webp": "webp"}
LOCAL_PREVIEW = "local preview"


@dataclass(frozen=True)
class AnswerTime:
    """How long one fresh answer took and what it was for (model, pixels asked for): what the
    panel's progress estimate measures from. No prompt, no images: the client keeps a few."""

    model: str | None
    pixels: float
    wall_ms: float

    @classmethod
    def of(cls, request: Any, wall_ms: float) -> AnswerTime:
        return cls(getattr(request, "model", None), pixels_asked(request), wall_ms)


def pixels_asked(request: Any) -> float:
    """Pixels a request asks for: image count x width x height (a 1024 px square where the size
    is a ratio or the request has none, as a toolbox request)."""
    count = getattr(request, "image_count", None) or 1
    width = getattr(request, "width", None) or 1024
    height = getattr(request, "height", None) or 1024
    return float(count * width * height)


@dataclass(frozen=True, repr=False)
class Timing:
    """Milliseconds: the API's ``timing`` (queue, preprocessing, inference, total), the client's
    wall time and the part of it spent waiting before retries.

    The live service reports timing *cumulatively* (``total = queue + preprocessing`` and
    preprocessing contains inference); the docs' example is *additive* (the parts add up to
    ``total``). ``shape`` tells which one a response is in, and ``segments()`` never shows more
    server time than ``total`` nor more than the wall time.
    """

    queue_ms: float | None = None
    preprocessing_ms: float | None = None
    inference_ms: float | None = None
    total_ms: float | None = None
    wall_ms: float = 0.0
    retry_wait_ms: float = 0.0

    def __repr__(self) -> str:
        """Milliseconds to one decimal (wall_ms=47.0, not 47.005321000028744)."""
        parts = [
            f"{name}={round(value, 1)!r}" for name, value in vars(self).items() if value is not None
        ]
        return f"Timing({', '.join(parts)})"

    def __str__(self) -> str:
        """What the timing bar shows, in words: each part counted once, as they add up to the
        wall time (``repr`` keeps the API's raw, cumulative numbers)."""
        parts = [
            f"{SEGMENT_LABELS.get(name, name)} {format_ms(ms)}"
            for name, ms in self.segments()
            if ms > 0 or name == "inference"
        ]
        has_server = any(
            v is not None for v in (self.queue_ms, self.preprocessing_ms, self.inference_ms)
        )
        detail = " \u00b7 ".join(parts) if has_server else "no server timing"
        return f"{format_ms(self.wall_ms)} wall: {detail}"

    @classmethod
    def from_api(cls, raw: Any, wall_ms: float, retry_wait_ms: float = 0.0) -> Timing:
        raw = raw if isinstance(raw, Mapping) else {}

        def ms(key: str) -> float | None:
            value = raw.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                return None
            return float(value)

        return cls(
            ms("inferenceQueueTime"),
            ms("inferencePreprocessingTime"),
            ms("inferenceDuration"),
            ms("total"),
            wall_ms,
            retry_wait_ms,
        )

    @property
    def shape(self) -> str | None:
        """ "cumulative" (live: preprocessing contains inference), "additive" (the parts add up
        to total), or None when there is nothing to tell apart."""
        pre, inf = self.preprocessing_ms, self.inference_ms
        if pre is None or inf is None:
            return None
        queue = self.queue_ms or 0.0
        if self.total_ms is not None:
            nested = abs(self.total_ms - (queue + pre))
            summed = abs(self.total_ms - (queue + pre + inf))
            return "cumulative" if nested <= summed else "additive"
        return "cumulative" if pre >= inf else "additive"

    def _server_parts(self) -> list[tuple[str, float]]:
        """Queue, preprocessing on its own, inference: each counted once, capped by ``total``
        and by the wall time left after retry waits."""
        inference = self.inference_ms or 0.0
        pre = self.preprocessing_ms or 0.0
        if self.shape == "cumulative":
            pre = max(0.0, pre - inference)
        parts = [("queue", self.queue_ms or 0.0), ("preprocessing", pre), ("inference", inference)]
        summed = sum(ms for _, ms in parts)
        caps = [self.total_ms] if self.total_ms is not None else []
        if self.wall_ms > 0:
            caps.append(max(0.0, self.wall_ms - self.retry_wait_ms))
        cap = min(caps) if caps else summed
        if summed > cap:
            scale = cap / summed if summed else 0.0
            parts = [(name, ms * scale) for name, ms in parts]
        return parts

    @property
    def reported_server_ms(self) -> float:
        """Server time as the API reported it (``total``, else the parts counted once), whatever
        the wall time of this call was (a cached result's wall time is the cache's)."""
        if self.total_ms is not None:
            return self.total_ms
        return Timing(self.queue_ms, self.preprocessing_ms, self.inference_ms).server_ms

    @property
    def server_ms(self) -> float:
        """Server time as shown: never above ``total`` nor above the wall time."""
        return sum(ms for _, ms in self._server_parts())

    @property
    def rest_ms(self) -> float:
        """Wall time not spent on the server or waiting to retry: network, transfer, decoding."""
        return max(0.0, self.wall_ms - self.server_ms - self.retry_wait_ms)

    def segments(self) -> list[tuple[str, float]]:
        """(label, ms) for the timing bar, in order; they add up to the wall time (or less)."""
        parts = self._server_parts()
        if self.retry_wait_ms > 0:
            parts.append(("retry", self.retry_wait_ms))
        return [*parts, ("rest", self.rest_ms)]


@dataclass(frozen=True)
class RateLimit:
    limit: int | None = None
    remaining: int | None = None
    reset_in_s: float | None = None


def _known(where: str, kw: dict[str, Any], method: Any) -> dict[str, Any]:
    """``kw`` when ``method`` takes every name in it; else a TypeError in the verb's own name
    (Python's would name the maker's method, e.g. ``ToolboxVerbs.remove_image_background()``)."""
    names = [
        name
        for name, p in list(inspect.signature(method).parameters.items())[1:]  # after the image
        if p.kind is not p.VAR_KEYWORD
    ]
    unknown = [name for name in kw if name not in names]
    if unknown:
        raise UnexpectedArgumentError(
            f"{where} got an unexpected keyword argument {unknown[0]!r}; it takes "
            + ", ".join(names)
        )
    return kw


class _KeepsMaker:
    """What made a result (``maker``) and where it sent (``origin``, no credentials): attributes,
    not dataclass fields, so ``dataclasses.asdict`` and ``==`` see only what was received.

    A maker holds connections and maybe a key: it is never pickled with what it made (an
    unpickled result says, in one line, that it has no maker); a copy shares it.
    """

    maker: Maker | None = None
    origin: str | None = None

    def made_by(self, maker: Maker | None) -> Any:
        """Remember ``maker`` (and where it sends now), so the verbs run there; returns self."""
        self.maker, self.origin = maker, origin_of(maker)
        return self

    def _maker_for(self, kw: dict[str, Any], action: str) -> Maker:
        """``session=`` when the call names one, else the maker, if it still sends to origin."""
        chosen = kw.pop("session", None)
        if chosen is not None:
            return maker_of(chosen, action)
        return maker_of(self.maker, action, made_at=self.origin)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "maker": None}

    def __copy__(self) -> Any:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            clone.__dict__[name] = value if name == "maker" else copy.deepcopy(value, memo)
        return clone


@dataclass
class GeneratedImage(_KeepsMaker):
    """One image as received."""

    data: bytes
    format: str
    index: int = 0
    seed: int | None = None
    blurred: bool = False
    content_violation: bool = False
    lineage: Lineage | None = field(default=None, repr=False)  # set on derived images

    @classmethod
    def from_bytes(cls, data: bytes | bytearray, **kw: Any) -> GeneratedImage:
        fmt = sniff_format(data)
        if fmt is None:
            head = bytes(data[:16])
            raise InvalidResponseError(
                f"the server sent {len(data):,} bytes that are not a PNG, JPEG or WebP image "
                f"(they start with {head!r})"
            )
        problem = image_problem(data, fmt)
        if problem:
            raise InvalidResponseError(f"image {kw.get('index', 0) + 1}: {problem}")
        return cls(data=bytes(data), format=fmt, **kw)

    # ---- the toolbox on this image, run by its maker (maker.py) -------------------------------

    def edit(self, prompt: str, **kw: Any) -> GenerationResult:
        """This image changed by an instruction: ``img.edit("make it night", model=...)``."""
        return self._maker_for(kw, "edit").edit_image(self, prompt, **kw)

    def upscale(self, scale: int = 2, **kw: Any) -> GenerationResult:
        """This image 2x or 4x bigger."""
        maker = self._maker_for(kw, "upscale")
        return maker.upscale_image(self, scale, **_known("upscale()", kw, maker.upscale_image))

    def remove_background(self, **kw: Any) -> GenerationResult:
        """This image with its background made transparent (a PNG)."""
        maker = self._maker_for(kw, "remove the background")
        method = maker.remove_image_background
        return method(self, **_known("remove_background()", kw, method))

    def compare(self, size: int = 512) -> Any:
        """This derived image beside its source(s), before/after (results have it too)."""
        from types import SimpleNamespace

        from .display.lineage import Comparison

        if self.lineage is None:
            raise VeniceError("this image was not derived from another image; nothing to compare")
        return Comparison(SimpleNamespace(lineage=self.lineage, image=self), size)  # type: ignore[arg-type]

    @property
    def mime(self) -> str:
        return MIME[self.format]

    @property
    def extension(self) -> str:
        return EXTENSION[self.format]

    @cached_property
    def size(self) -> tuple[int, int]:
        """(width, height), read from the header only."""
        known = header_size(self.data, self.format)
        if known is not None:
            return known
        from io import BytesIO

        from PIL import Image

        with Image.open(BytesIO(self.data)) as im:
            return im.size

    def to_pil(self) -> Image:
        from io import BytesIO

        from PIL import Image

        im = Image.open(BytesIO(self.data))
        im.load()
        return im

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {self.mime: self.data, "text/plain": repr(self)}

    def __repr__(self) -> str:
        seed = f" seed={self.seed}" if self.seed is not None else ""
        flags = " blurred" if self.blurred else ""
        flags += " blocked" if self.content_violation else ""
        flags += f", {self.lineage.summary()}" if self.lineage is not None else ""
        return f"<GeneratedImage {self.format} {len(self.data):,} bytes{seed}{flags}>"


@dataclass
class GenerationResult(_KeepsMaker):
    """Everything one request returned. The magic binds it with ``-o`` and returns it."""

    request: Request  # a generation's, or the toolbox request a derived image came from
    images: list[GeneratedImage]
    id: str | None = None
    timing: Timing = field(default_factory=Timing)
    seed: int | None = None
    blurred: bool = False
    content_violation: bool = False
    rate_limit: RateLimit = field(default_factory=RateLimit)
    balance_usd: float | None = None
    balance_diem: float | None = None
    deprecation: str | None = None
    enhanced_prompt: str | None = None
    cost_usd: float | None = None
    cost_diem: float | None = None
    backend: str = "venice"
    base_url: str = ""
    route: str = "generate"
    request_id: str | None = None
    retries: int = 0
    cached: bool = False
    warnings: tuple[str, ...] = ()  # fields the model ignores, left out of the request
    refused: int = 0  # variants the content policy left out (content_policy_violation_count)
    thumb_size: int | None = field(default=None, repr=False, compare=False)  # --thumb; display only

    def made_by(self, maker: Maker | None) -> GenerationResult:
        """Remember ``maker`` on this result and its images, so their verbs run there."""
        super().made_by(maker)
        for image in self.images:
            image.maker, image.origin = self.maker, self.origin
        return self

    # ---- conveniences ----------------------------------------------------------------------

    @property
    def image(self) -> GeneratedImage:
        return self.images[0]

    @property
    def model(self) -> str | None:
        return getattr(self.request, "model", None)

    @property
    def lineage(self) -> Lineage | None:
        """How this result's image was derived (edit, upscale...), None for a generation."""
        return self.images[0].lineage if self.images else None

    def edit(self, prompt: str, **kw: Any) -> GenerationResult:
        """The (single) image of this result changed by an instruction, on this result's maker."""
        return self._maker_for(kw, "edit").edit_image(self, prompt, **kw)

    def upscale(self, scale: int = 2, **kw: Any) -> GenerationResult:
        maker = self._maker_for(kw, "upscale")
        return maker.upscale_image(self, scale, **_known("upscale()", kw, maker.upscale_image))

    def remove_background(self, **kw: Any) -> GenerationResult:
        maker = self._maker_for(kw, "remove the background")
        method = maker.remove_image_background
        return method(self, **_known("remove_background()", kw, method))

    def compare(self, size: int = 512) -> Any:
        """The source image(s) beside this derived one (before/after), for display."""
        from .display.lineage import Comparison

        if self.lineage is None:
            raise VeniceError("this result was not derived from another image; nothing to compare")
        return Comparison(self, size)

    @property
    def is_local_preview(self) -> bool:
        return self.backend == LOCAL_PREVIEW

    @property
    def pays_in_diem(self) -> bool:
        """The account is billed in DIEM: it has DIEM, which the service spends before USD
        (venice-api.md §0b.19), whatever USD it also holds."""
        return bool(self.balance_diem)

    @property
    def refused_note(self) -> str | None:
        """The line a partly refused answer shows: how many variants the content policy took."""
        if not self.refused:
            return None
        total = self.refused + len(self.images)
        return (
            f"Venice's content policy refused {self.refused} of {total} variants "
            f"({len(self.images)} shown); which ones is not said, so no image is tied to the seed"
        )

    def balance_after(self) -> tuple[float, str, bool] | None:
        """(amount, "USD"|"DIEM", is_after): the balance headers are the balance *before* this
        request, so the cost is taken off when it is known (is_after True)."""
        diem = self.pays_in_diem
        before = self.balance_diem if diem else self.balance_usd
        if before is None:
            return None
        cost = self.cost_diem if diem else self.cost_usd
        unit = "DIEM" if diem else "USD"
        if cost is None or self.cached:
            return before, unit, False
        return max(0.0, round(before - cost, 6)), unit, True

    def __iter__(self) -> Iterator[GeneratedImage]:
        return iter(self.images)

    def __len__(self) -> int:
        return len(self.images)

    def to_pil(self) -> list[Image]:
        return [im.to_pil() for im in self.images]

    def provenance(self) -> dict[str, Any]:
        """What to record next to the images: the request and what the server said, never a key
        (nor credentials of any URL in it)."""
        from .redact import redact_value

        return redact_value(
            {
                "route": self.route,
                # Toolbox requests describe their input images instead of carrying their bytes.
                "request": self.request.provenance_json(),
                "id": self.id,
                "seed": self.seed,  # None when the model ignores seeds: no claim of reproducibility
                "backend": self.backend,
                "base_url": redact_url(self.base_url),
                "timing_ms": {k: v for k, v in vars(self.timing).items() if v is not None},
                "cost_usd": self.cost_usd,
                "blurred": self.blurred,
                "content_violation": self.content_violation,
                "cached": self.cached,
                **({"lineage": self.lineage.describe()} if self.lineage is not None else {}),
            }
        )  # type: ignore[return-value]

    # ---- files -----------------------------------------------------------------------------

    def save(
        self, directory: str | os.PathLike[str] = "venice-images", stem: str | None = None
    ) -> list[Path]:
        """Write each image and a ``.json`` sidecar into ``directory``; returns the image paths.

        The generation parameters (never a key) go into the sidecar and, where the format allows,
        into the file itself (PNG iTXt, JPEG/WebP EXIF) without re-encoding the pixels. Files
        appear whole or not at all (temporary file + hard link), an existing file is never
        replaced (a taken name gets ``-2``, ``-3``...), names come from ``safe_stem`` so a
        server-provided id cannot leave ``directory``, and if any write fails every file this
        call created is removed again.
        """
        return save_result(self, directory, stem)

    # ---- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        from .display.html import result_bundle
        from .redact import redact_value

        return redact_value(result_bundle(self, thumb_size=self.thumb_size))  # type: ignore[return-value]

    def __repr__(self) -> str:
        parts = [plural(len(self.images), "image")]
        if self.model:
            parts.append(f"model={self.model}")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        parts.append(f"{self.timing.wall_ms:.0f} ms")
        if self.cached:
            parts.append("cached")
        if self.is_local_preview:
            parts.append(LOCAL_PREVIEW)
        return f"<GenerationResult {' '.join(parts)}>"


@dataclass
class SweepCell:
    """One combination of a sweep: its parameters and either a result or the error it met."""

    params: dict[str, Any]
    result: GenerationResult | None = None
    error: VeniceError | None = None
    request: Any = None  # what was (or will be) sent, so a failed cell can be sent again

    @property
    def ok(self) -> bool:
        return self.result is not None


@dataclass
class SweepResult(_KeepsMaker):
    """A grid of generations. ``rows``/``cols`` name the swept fields shown on each axis."""

    cells: list[SweepCell]
    rows: str | None = None
    cols: str | None = None
    wall_ms: float = 0.0
    pages: str | None = None  # a third swept field: one titled sub-grid per value
    route: str = "generate"
    thumb_size: int | None = field(default=None, repr=False, compare=False)  # --thumb
    title: str | None = None  # a search/replace grid's prompt template

    @property
    def results(self) -> list[GenerationResult]:
        return [c.result for c in self.cells if c.result is not None]

    @property
    def errors(self) -> list[SweepCell]:
        return [c for c in self.cells if c.error is not None]

    @property
    def images(self) -> list[GeneratedImage]:
        return [im for r in self.results for im in r.images]

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd or 0.0 for r in self.results if not r.cached)

    def save(self, directory: str | os.PathLike[str] = "venice-images") -> list[Path]:
        return [p for r in self.results for p in r.save(directory)]

    def contact_sheet(self, path: str | os.PathLike[str], **kw: Any) -> Path:
        """The grid as one image (``.png``/``.jpg``) or one self-contained ``.html`` page, each
        tile labelled with its swept values (``venice_nb.contact``)."""
        from .contact import sweep_items, write_contact_sheet

        return write_contact_sheet(sweep_items(self), path, title=self.title, **kw)

    def retry_failed(self, session: Maker | None = None) -> SweepResult:
        """Send the failed cells again (only those: the others were paid for) on the session the
        sweep ran with (or ``session``), and return this grid with their new results or errors.
        Shows in a notebook as the updated grid."""
        failed = [i for i, c in enumerate(self.cells) if c.error is not None and c.request]
        if not failed:
            print("retry_failed: no failed cell, nothing sent")  # a word, not silence
            return self
        maker = self._maker_for({"session": session}, "retry the failed cells")
        print(f"retry_failed: sending {len(failed)} failed cell(s) again\u2026", flush=True)
        cells = maker.rerun([self.cells[i] for i in failed], route=self.route)
        for i, cell in zip(failed, cells, strict=True):
            self.cells[i] = cell
        still = sum(1 for i in failed if self.cells[i].error is not None)
        print(f"retry_failed: {len(failed) - still} now ok, {still} failed again")
        return self

    def __iter__(self) -> Iterator[SweepCell]:
        return iter(self.cells)

    def __len__(self) -> int:
        return len(self.cells)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        from .display.grid import sweep_bundle
        from .redact import redact_value

        return redact_value(sweep_bundle(self, thumb_size=self.thumb_size))  # type: ignore[return-value]

    def __repr__(self) -> str:
        unsent = sum(1 for c in self.errors if isinstance(c.error, NotSentError))
        failed = len(self.errors) - unsent
        tail = (f", {failed} failed" if failed else "") + (f", {unsent} not sent" if unsent else "")
        return f"<SweepResult {len(self.cells)} cells{tail}, {self.wall_ms:.0f} ms>"
