"""``VeniceClient``: every byte that goes over the wire goes through here.

The endpoints (generate, the OpenAI route, models and styles, the toolbox) over ``Transport``
(``transport.py``: one ``requests.Session``, timeouts, bounded retries, the rate gate and the
breaker), with the key (read when a call is made, never stored in a repr) and the catalogue cache
(one ``models_of`` per model type). No IPython, no widgets, no PIL: this works in a plain script.

The key travels only inside a ``requests`` auth object whose repr is masked (``apikey.py``), so no
local variable, exception message or log record of ours ever holds it. Our errors are raised outside
``except`` blocks, so they carry no chained ``requests`` exception (whose ``.request`` holds the
headers). What a 200 says besides its images is read by ``responses.py``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .account import RATE_LIMITS_PATH, KeyStanding
from .apikey import KEY_ENV, Bearer, Secret, checked, current_key, mask, masked, wrap
from .catalogue import Catalogue, ModelSpec
from .errors import (
    ConfigurationError,
    ContentPolicyError,
    ContentRefusedError,
    InvalidResponseError,
    NotFoundError,
    VeniceError,
)
from .fuzzy import did_you_mean
from .image_format import sniff_format
from .operations.background import BackgroundRemoveRequest
from .operations.common import ToolboxRequest, explain_refusal
from .operations.edit import EditRequest
from .operations.generate import GenerateRequest, Review, request_from
from .operations.multi_edit import MultiEditRequest
from .operations.openai import OpenAIImageRequest
from .operations.upscale import UpscaleRequest
from .responses import (
    build_result,
    derived_result,
    echoed_seed,
    json_or_none,
    moderation_flags,
    openai_images,
)
from .result import AnswerTime, GeneratedImage, GenerationResult, SweepCell
from .retry import RetryCallback, RetryPolicy
from .transport import MAX_RESPONSE_BYTES, Reply, Transport
from .urls import BASE_URL_ENV, DEFAULT_BASE_URL, resolve_base_url
from .verbs import ToolboxVerbs, model_type
from .wire import parse_images_json, refused_count

# KEY_ENV and mask (apikey.py), BASE_URL_ENV and resolve_base_url (urls.py) stay importable
# from here for existing callers.
__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "KEY_ENV",
    "MAX_RESPONSE_BYTES",
    "VeniceClient",
    "mask",
    "resolve_base_url",
]

log = logging.getLogger(__name__)

CATALOGUE_TTL_S = 600.0  # the live catalogue moves: minutes, not the kernel's life


RECENT_ANSWERS = 32  # answers kept for the progress estimate (requests only, no images)


class VeniceClient(Transport, ToolboxVerbs):
    """A client for the Venice image API (or the local preview server: same protocol).

    ``api_key`` wins over ``$VENICE_API_KEY``, which is read at each call, so a key exported after
    the client was made is still used. ``base_url`` defaults to ``$VENICE_BASE_URL`` or the public
    API. ``read_timeout`` bounds each wait for the server (long: 4K renders take minutes) and the
    transfer of a body. ``on_retry`` is called before every retry wait. The ``gate`` is shared by
    every thread using this client: after a 429 all of them pause together.
    """

    def __init__(
        self,
        api_key: str | Secret | None = None,
        *,
        base_url: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        retry: RetryPolicy | None = None,
        on_retry: RetryCallback | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        pool_size: int = 16,
    ) -> None:
        # Wrapped first and the plain string dropped: a traceback that prints arguments and
        # locals (%xmode Verbose) must not show the key if a later check fails.
        secret = wrap(api_key)
        del api_key
        self._key = checked(secret, "api_key") if secret else None
        super().__init__(
            resolve_base_url(base_url), connect_timeout=connect_timeout,
            read_timeout=read_timeout, retry=retry, on_retry=on_retry,
            max_response_bytes=max_response_bytes, pool_size=pool_size,
        )  # fmt: skip
        self._catalogues: dict[str, Catalogue] = {}  # by type: image, inpaint, upscale
        self.catalogue_ttl_s = CATALOGUE_TTL_S
        self._refetched: set[str] = set()  # ids fetched again once because the list lacked them
        self._styles: list[str] | None = None
        self._lock = threading.Lock()
        # this client's latest answers, oldest first: what the panel's
        # progress estimate measures from (panel/estimate.py), whichever surface sent them
        self.recent_answers: deque[AnswerTime] = deque(maxlen=RECENT_ANSWERS)

    # ---- key ---------------------------------------------------------------------------------

    @property
    def has_key(self) -> bool:
        return current_key(self._key) is not None

    @property
    def masked_key(self) -> str:
        return masked(self._key)

    def set_key(self, api_key: str | Secret | None) -> None:
        secret = wrap(api_key)
        del api_key
        self._key = checked(secret, "api_key") if secret else None

    def _auth(self, required: bool) -> Bearer | None:
        """The auth object for this call (key read now), or a ConfigurationError before sending."""
        secret = current_key(self._key)
        if secret is not None and secret is not self._key:
            secret = checked(secret, f"${KEY_ENV}")
        if secret is None:
            if required:
                raise ConfigurationError(
                    "no Venice API key",
                    hint="Set VENICE_API_KEY in the environment or run %venice login.",
                )
            return None
        return Bearer(secret)

    def _call(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> Reply:
        """``send`` with the key read now (a missing key refuses before anything is sent)."""
        return self.send(method, path, bearer=self._auth(required=auth), **kw)

    def __repr__(self) -> str:
        return f"VeniceClient(base_url={self._shown_url!r}, api_key={self.masked_key!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a VeniceClient cannot be pickled (it holds connections and maybe a key)")

    def __enter__(self) -> VeniceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- endpoints ---------------------------------------------------------------------------

    def models(self, refresh: bool = False) -> Catalogue:
        """The image models (``GET /models?type=image``), cached for ``catalogue_ttl_s``.

        The live catalogue moves (models are added within days, retired at their removal
        date), so it is fetched again once the cached copy is older than the TTL, not kept for
        the kernel's life. If that refresh fails, the copy in hand is used and the next call
        tries again.
        """
        return self.models_of("image", refresh)

    @property
    def _catalogue(self) -> Catalogue | None:
        """The image models as last fetched (None before the first fetch); no request."""
        with self._lock:
            return self._catalogues.get("image")

    def spec(self, model_id: str) -> ModelSpec | None:
        """The catalogue row of ``model_id``, fetching the catalogue again once when the cached
        one does not know it (a model released after it was fetched); None if still unknown."""
        catalogue = self.models()
        spec = catalogue.get(model_id)
        if spec is None and model_id not in self._refetched:
            self._refetched.add(model_id)
            spec = self.models(refresh=True).get(model_id)
        return spec

    def styles(self, refresh: bool = False) -> list[str]:
        """Style names for ``style_preset``. Accepts ``{object, data}`` and a bare list."""
        with self._lock:
            if self._styles is not None and not refresh:
                return list(self._styles)
        reply = self._call("GET", "/image/styles", auth=False)
        parsed = json_or_none(reply.body)
        styles = parsed.get("data") if isinstance(parsed, dict) else parsed
        if not isinstance(styles, list) or not all(isinstance(s, str) for s in styles):
            raise InvalidResponseError("the styles response holds no list of style names")
        with self._lock:
            self._styles = list(styles)
        return list(styles)

    def rate_limits(self) -> KeyStanding:
        """``GET /api_keys/rate_limits``: the key's tier, what it can spend (USD, DIEM), its
        expiry and per-model limits, read before anything is paid. Free; never retried blind."""
        reply = self._call("GET", RATE_LIMITS_PATH)
        local = reply.headers.get("x-venice-local-preview") == "true"
        return KeyStanding.from_json(json_or_none(reply.body), local_preview=local)

    def default_model(self) -> str:
        """The catalogue's default image model (what a plain prompt is generated with)."""
        model = self.models().default_id
        if model is None:
            raise InvalidResponseError("the server lists no image models")
        return model

    def validate(self, request: GenerateRequest | str) -> GenerateRequest:
        """Check a request against the live catalogue and styles before it costs anything.

        Returns the request to send (fields the model ignores dropped, resolution spelled as
        the model spells it); ``review`` also says what was dropped and why. A plain prompt
        string becomes a request for the catalogue's default model.
        """
        request = request_from(request, "VeniceClient.validate", self.default_model)
        return self.review(request).request

    def review(self, request: GenerateRequest | str) -> Review[GenerateRequest]:
        """``request.review`` against the model's catalogue row (and the styles when a style
        is asked for): the request to send plus one warning line per ignored field.

        An id the catalogue does not know, even after fetching it again, is not refused: the
        service may know it (a retired id it remaps, a model newer than the list). It is sent
        as asked, after the checks every model shares, with one warning line.
        """
        request = request_from(request, "VeniceClient.review", self.default_model)
        spec = self.spec(request.model)
        if spec is None:
            request.check()
            catalogue = self.models()
            hint = did_you_mean(request.model, catalogue.generation_models())
            warning = (
                f"{request.model!r} is not in the model list"
                + (f" ({hint})" if hint else "")
                + "; sending it as asked (the service may know it, e.g. a retired id it remaps) "
                "without the model's own checks"
            )
            return Review(request, (warning,), {})
        styles = self.styles() if request.style_preset is not None else None
        return request.review(spec, styles)

    def generate(
        self,
        request: GenerateRequest | str,
        *,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """``POST /image/generate``; JSON (1-4 variants) or ``return_binary`` bytes.

        A 200 whose body is image bytes is accepted whatever its Content-Type says (the API sets
        the type from the bytes too); the format always comes from the magic bytes. A plain prompt
        string is a request for the catalogue's default model.
        """
        request = request_from(request, "VeniceClient.generate", self.default_model)
        warnings: tuple[str, ...] = ()
        spec = self._catalogue.get(request.model) if self._catalogue is not None else None
        if request.validated != "generate":  # validate() already did all of this
            request.check()
            if spec is not None:  # what the model ignores is not sent (and not paid for)
                review = request.review(spec)
                request, warnings = review.request, review.warnings
        started = time.perf_counter()
        try:
            reply = self._call(
                "POST", "/image/generate", json_body=request.to_json(), on_retry=on_retry,
                cancel=cancel, model=request.model,
            )  # fmt: skip
        except NotFoundError as exc:  # an unlisted id the service did not know either
            self._suggest(exc, request.model)
            raise
        wall_ms = (time.perf_counter() - started) * 1000
        flags = moderation_flags(reply.headers)
        meta: dict[str, Any] = {}
        seeded = spec is None or not spec.ignores_seed  # never claim a seed that does nothing
        if request.return_binary or sniff_format(reply.body) is not None:
            seed = request.seed if seeded else None
            images = [GeneratedImage.from_bytes(reply.body, index=0, seed=seed, **flags)]
        else:
            meta, raw_images = reply.images_json or parse_images_json(reply.body)
            seed = echoed_seed(meta) if request.seed is None else request.seed
            seed = seed if seeded else None
            refused = refused_count(meta)
            if refused and not raw_images:
                raise ContentRefusedError(refused, request_id=reply.headers.get("CF-RAY"))
            # Only the first variant uses the seed; the others are random (venice-api.md §0.4).
            # With variants refused, which one went is not said: no image is pinned to the seed.
            first_seed = None if refused else seed
            images = [
                GeneratedImage.from_bytes(
                    data, index=i, seed=first_seed if i == 0 else None, **flags
                )
                for i, data in enumerate(raw_images)
            ]
        del reply.body[:]
        result = self._result(request, images, reply, meta, wall_ms)
        result.seed = seed
        result.warnings = warnings
        result.refused = refused_count(meta)
        return result

    def generate_openai(
        self,
        request: OpenAIImageRequest | GenerateRequest | str,
        *,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """``POST /images/generations`` (OpenAI-compatible); b64_json or data-URL answers."""
        if isinstance(request, str):
            request = OpenAIImageRequest(prompt=request)
        elif not isinstance(request, OpenAIImageRequest):
            request = request_from(request, "VeniceClient.generate_openai")
        if isinstance(request, GenerateRequest):
            request = OpenAIImageRequest.from_generate(request)
        request.check()
        started = time.perf_counter()
        reply = self._call(
            "POST", "/images/generations", json_body=request.to_json(), on_retry=on_retry,
            cancel=cancel, model=request.model,
        )  # fmt: skip
        wall_ms = (time.perf_counter() - started) * 1000
        flags = moderation_flags(reply.headers)
        if sniff_format(reply.body) is not None:  # image bytes under a wrong Content-Type
            images = [GeneratedImage.from_bytes(reply.body, index=0, **flags)]
        else:
            images = [
                GeneratedImage.from_bytes(data, index=i, **flags)
                for i, data in enumerate(openai_images(reply.body))
            ]
        result = self._result(request, images, reply, {}, wall_ms)
        result.route = "openai"
        return result

    # ---- the toolbox: edit, multi-edit, upscale, background removal ---------------------------

    def models_of(self, kind: str, refresh: bool = False) -> Catalogue:
        """The models of one type (``image``; ``inpaint``: edit models; ``upscale``), cached for
        ``catalogue_ttl_s``; a failed refresh keeps the copy in hand (see ``models``)."""
        with self._lock:
            cached = self._catalogues.get(kind)
        if cached is not None and not refresh and cached.age_s() < self.catalogue_ttl_s:
            return cached
        try:
            reply = self._call("GET", "/models", params={"type": kind}, auth=False)
        except VeniceError:
            if cached is not None and not refresh:
                return cached
            raise
        try:
            catalogue = Catalogue.from_json(json.loads(reply.body))
        except (ValueError, KeyError, TypeError) as exc:
            problem = str(exc)  # raised below, outside the except: nothing chained
        else:
            with self._lock:
                self._catalogues[kind] = catalogue
            return catalogue
        what = "the models list" if kind == "image" else f"the {kind} models list"
        raise InvalidResponseError(f"{what} could not be read ({problem})")

    def operation_spec(self, request: ToolboxRequest, fetch: bool = False) -> ModelSpec | None:
        """The catalogue row that checks and prices ``request`` (None when not listed)."""
        kind = model_type(request.operation)
        if fetch:
            catalogue: Catalogue | None = self.models_of(kind)
        else:
            with self._lock:
                catalogue = self._catalogues.get(kind)
        return catalogue.get(getattr(request, "model", "")) if catalogue is not None else None

    def validate_operation(self, request: ToolboxRequest) -> ToolboxRequest:
        """Check a toolbox request against its model before it costs anything; returns the request
        to send. An edit model the server lists nothing about is left to the server."""
        if request.validated:  # a surface checked this very object
            return request
        request.check()
        kind = model_type(request.operation)
        catalogue = self.models_of(kind)
        model = getattr(request, "model", "")
        if request.operation in ("edit", "multi-edit") and len(catalogue):
            checked = request.check_against(catalogue.require(model))
        else:
            spec = catalogue.get(model)
            checked = request.check_against(spec) if spec is not None else request
        return checked.mark_validated(request.operation)

    def edit(self, request: EditRequest, **kw: Any) -> GenerationResult:
        """``POST /image/edit``: one image changed by an instruction."""
        return self.run_operation(_expect(request, EditRequest), **kw)

    def multi_edit(self, request: MultiEditRequest, **kw: Any) -> GenerationResult:
        """``POST /image/multi-edit``: images combined under one instruction (base first)."""
        return self.run_operation(_expect(request, MultiEditRequest), **kw)

    def upscale(self, request: UpscaleRequest, **kw: Any) -> GenerationResult:
        """``POST /image/upscale``: 2x or 4x bigger."""
        return self.run_operation(_expect(request, UpscaleRequest), **kw)

    def remove_background(self, request: BackgroundRemoveRequest, **kw: Any) -> GenerationResult:
        """``POST /image/background-remove``: a PNG with the background transparent."""
        return self.run_operation(_expect(request, BackgroundRemoveRequest), **kw)

    def run_toolbox(self, request: ToolboxRequest, *, use_cache: bool = True) -> GenerationResult:
        """The maker's toolbox (``img.upscale(2)`` on a result this client made): checked against
        the model's catalogue, then sent (a client has no cache: ``use_cache`` is ignored).
        A field the model does not use is left out, as the session does."""
        from .operations.unused import without_unused

        request.check()
        kept, _warnings, _ignored = without_unused(
            request, self.operation_spec(request, fetch=True)
        )
        return self.run_operation(self.validate_operation(kept))

    def rerun(self, cells: list[SweepCell], route: str = "generate") -> list[SweepCell]:
        """The maker's ``retry_failed``: each cell's request sent again, one after the other."""
        fresh = []
        for cell in cells:
            again = SweepCell(dict(cell.params), request=cell.request)
            try:
                request = cell.request
                if isinstance(request, OpenAIImageRequest) or route == "openai":
                    again.result = self.generate_openai(request)
                elif isinstance(request, GenerateRequest):
                    again.result = self.generate(request)
                else:
                    again.result = self.run_operation(request)
            except VeniceError as exc:
                again.error = exc
            fresh.append(again)
        return fresh

    def run_operation(
        self,
        request: ToolboxRequest,
        *,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Send one toolbox request (checked first unless a surface did: a refusal sends nothing)
        and read its image."""
        if not request.validated:
            request.check()
        body = request.body()
        started = time.perf_counter()
        failure: VeniceError | None = None
        try:
            reply = self._call(
                "POST", request.path, body=body, on_retry=on_retry, cancel=cancel,
                model=getattr(request, "model", None),
            )  # fmt: skip
        except ContentPolicyError as exc:
            failure = explain_refusal(request.operation, exc)
        if failure is not None:
            raise failure
        wall_ms = (time.perf_counter() - started) * 1000
        result = derived_result(
            request, reply.body, reply.headers, wall_ms, base_url=self.origin,
            retries=reply.retries, spec=self.operation_spec(request),
        )  # fmt: skip
        del reply.body[:]
        self.recent_answers.append(AnswerTime.of(request, wall_ms))
        return result.made_by(self)

    # ---- plumbing ----------------------------------------------------------------------------

    def _suggest(self, error: NotFoundError, model_id: str) -> None:
        """Add a did-you-mean from the cached catalogue to a 404 for an unknown model."""
        if self._catalogue is None or getattr(error, "replacement", None):
            return
        hint = did_you_mean(model_id, self._catalogue.generation_models())
        if hint and hint.lower() not in error.message.lower():
            error.message += f"; {hint}"

    def _result(
        self,
        request: GenerateRequest | OpenAIImageRequest,
        images: list[GeneratedImage],
        reply: Reply,
        meta: Mapping[str, Any],
        wall_ms: float,
    ) -> GenerationResult:
        spec = None
        if self._catalogue is not None:
            spec = self._catalogue.get(getattr(request, "model", None) or "")
        result = build_result(
            request, images, reply.headers, meta, wall_ms,
            base_url=self.origin, retries=reply.retries, spec=spec,
        )  # fmt: skip
        if reply.waited_s:
            result.timing = replace(result.timing, retry_wait_ms=reply.waited_s * 1000)
        self.recent_answers.append(AnswerTime.of(request, wall_ms))
        return result.made_by(self)


# ---- helpers ---------------------------------------------------------------------------------


def _expect(request: Any, kind: type) -> Any:
    if not isinstance(request, kind):
        raise TypeError(f"expected a {kind.__name__}, got {type(request).__name__}")
    return request
