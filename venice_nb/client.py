"""``VeniceClient``: every byte that goes over the wire goes through here.

One ``requests.Session`` (connection reuse), a base URL, the key (read when a call is made, never
stored in a repr), timeouts, bounded retries and the mapping of every failure to an error class from
``errors.py``. No IPython, no widgets, no PIL: this works in a plain script.

The key travels only inside a ``requests`` auth object whose repr is masked (``apikey.py``), so no
local variable, exception message or log record of ours ever holds it. Our errors are raised outside
``except`` blocks, so they carry no chained ``requests`` exception (whose ``.request`` holds the
headers). What a 200 says besides its images is read by ``responses.py``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import requests

from . import __version__
from .account import RATE_LIMITS_PATH, KeyStanding
from .apikey import KEY_ENV, Bearer, Secret, checked, current_key, mask, masked, wrap
from .catalogue import Catalogue, ModelSpec, did_you_mean
from .errors import (
    APIConnectionError,
    APITimeoutError,
    CancelledError,
    ConfigurationError,
    ContentPolicyError,
    ContentRefusedError,
    ErrorBudgetError,
    InvalidResponseError,
    ModelOfflineError,
    NotFoundError,
    VeniceError,
    redact_url,
)
from .errors import from_response as api_error
from .images_stream import ImagesStream
from .lineage import derived_result
from .network import CircuitBreaker, is_loopback, proxy_for
from .operations.background import BackgroundRemoveRequest
from .operations.common import Body, ToolboxRequest, explain_refusal
from .operations.edit import EditRequest
from .operations.generate import GenerateRequest, Review, request_from
from .operations.multi_edit import MultiEditRequest
from .operations.openai import OpenAIImageRequest
from .operations.upscale import UpscaleRequest
from .ratelimit import (
    RateGate,
    RetryCallback,
    RetryEvent,
    RetryPolicy,
    should_retry,
)
from .ratelimit import delay as retry_delay
from .responses import (
    build_result,
    echoed_seed,
    json_or_none,
    moderation_flags,
    openai_images,
)
from .result import GeneratedImage, GenerationResult, sniff_format
from .text import plural
from .urls import DEFAULT_BASE_URL, check_base_url
from .wire import BodyTimeout, parse_images_json, read_body, refused_count

# KEY_ENV and mask live in apikey.py and stay importable from here for existing callers.
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

BASE_URL_ENV = "VENICE_BASE_URL"
CATALOGUE_TTL_S = 600.0  # the live catalogue moves: minutes, not the kernel's life
MAX_RESPONSE_BYTES = 200 * 1024 * 1024  # four 4K PNGs as base64 fit; a runaway body does not


def resolve_base_url(base_url: str | None = None) -> str:
    """The URL calls go to: ``base_url``, else ``$VENICE_BASE_URL``, else the public API."""
    if base_url:
        return check_base_url(base_url)
    if os.environ.get(BASE_URL_ENV, "").strip():
        return check_base_url(os.environ[BASE_URL_ENV], f"${BASE_URL_ENV}")
    return DEFAULT_BASE_URL


@dataclass
class _Reply:
    """A response whose body was read in full (and the connection released)."""

    status: int
    headers: Mapping[str, str]
    body: bytearray
    retries: int = 0
    waited_s: float = 0.0  # spent waiting before retries: its own segment of the timing bar
    # A 200 JSON answer's images, decoded while it arrived; ``body`` then holds the rest of it.
    images_json: tuple[dict[str, Any], list[bytes]] | None = None


class VeniceClient:
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
        self.base_url = resolve_base_url(base_url)
        self._shown_url = redact_url(self.base_url)  # for messages and repr: no credentials
        for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if not isinstance(value, (int, float)) or not value > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self.max_response_bytes = int(max_response_bytes)
        self.gate = RateGate()
        self._session = requests.Session()
        # Proxies from the environment, except for loopback (the embedded preview server lives
        # in this process; a proxy elsewhere cannot reach it, whatever NO_PROXY says).
        self._session.trust_env = not is_loopback(self.base_url)
        self.breaker = CircuitBreaker()  # shared by every thread using this client
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["User-Agent"] = f"venice-nb/{__version__}"
        self._catalogue: Catalogue | None = None
        self._catalogues: dict[str, Catalogue] = {}  # the toolbox's: type=inpaint, type=upscale
        self.catalogue_ttl_s = CATALOGUE_TTL_S
        self._refetched: set[str] = set()  # ids fetched again once because the list lacked them
        self._styles: list[str] | None = None
        self._lock = threading.Lock()

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

    def __repr__(self) -> str:
        return f"VeniceClient(base_url={self._shown_url!r}, api_key={self.masked_key!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a VeniceClient cannot be pickled (it holds connections and maybe a key)")

    def close(self) -> None:
        self._session.close()

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
        with self._lock:
            cached = self._catalogue
        if cached is not None and not refresh and cached.age_s() < self.catalogue_ttl_s:
            return cached
        try:
            reply = self._send("GET", "/models", params={"type": "image"}, auth=False)
        except VeniceError:
            if cached is not None and not refresh:
                return cached
            raise
        try:
            catalogue = Catalogue.from_json(json.loads(reply.body))
        except (ValueError, KeyError, TypeError) as exc:
            problem = str(exc)
        else:
            with self._lock:
                self._catalogue = catalogue
            return catalogue
        raise InvalidResponseError(f"the models list could not be read ({problem})")

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
        reply = self._send("GET", "/image/styles", auth=False)
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
        reply = self._send("GET", RATE_LIMITS_PATH)
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

    def review(self, request: GenerateRequest | str) -> Review:
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
            reply = self._send(
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
        reply = self._send(
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
        """The models of one type (``image``; ``inpaint``: edit models; ``upscale``), cached."""
        if kind == "image":
            return self.models(refresh)
        with self._lock:
            cached = self._catalogues.get(kind)
            if cached is not None and not refresh and cached.age_s() < self.catalogue_ttl_s:
                return cached
        reply = self._send("GET", "/models", params={"type": kind}, auth=False)
        try:
            catalogue = Catalogue.from_json(json.loads(reply.body))
        except (ValueError, KeyError, TypeError) as exc:
            problem = str(exc)
        else:
            with self._lock:
                self._catalogues[kind] = catalogue
            return catalogue
        raise InvalidResponseError(f"the {kind} models list could not be read ({problem})")

    def operation_spec(self, request: ToolboxRequest, fetch: bool = False) -> ModelSpec | None:
        """The catalogue row that checks and prices ``request`` (None when not listed)."""
        kind = OPERATION_MODEL_TYPE.get(request.operation, "image")
        if fetch:
            catalogue: Catalogue | None = self.models_of(kind)
        else:
            with self._lock:
                catalogue = self._catalogue if kind == "image" else self._catalogues.get(kind)
        return catalogue.get(getattr(request, "model", "")) if catalogue is not None else None

    def validate_operation(self, request: ToolboxRequest) -> ToolboxRequest:
        """Check a toolbox request against its model before it costs anything; returns the request
        to send. An edit model the server lists nothing about is left to the server."""
        request.check()
        kind = OPERATION_MODEL_TYPE.get(request.operation, "image")
        catalogue = self.models_of(kind)
        model = getattr(request, "model", "")
        if request.operation in ("edit", "multi-edit") and len(catalogue):
            return request.check_against(catalogue.require(model))  # type: ignore[attr-defined]
        spec = catalogue.get(model)
        return request.check_against(spec) if spec is not None else request  # type: ignore[attr-defined]

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

    def run_operation(
        self,
        request: ToolboxRequest,
        *,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Send one toolbox request (checked first: a refusal sends nothing) and read its image."""
        request.check()
        body = request.body()
        started = time.perf_counter()
        failure: VeniceError | None = None
        try:
            reply = self._send(
                "POST", request.path, body=body, on_retry=on_retry, cancel=cancel,
                model=getattr(request, "model", None),
            )  # fmt: skip
        except ContentPolicyError as exc:
            failure = explain_refusal(request.operation, exc)
        if failure is not None:
            raise failure
        wall_ms = (time.perf_counter() - started) * 1000
        result = derived_result(
            request, reply.body, reply.headers, wall_ms, base_url=self.base_url,
            retries=reply.retries, spec=self.operation_spec(request),
        )  # fmt: skip
        del reply.body[:]
        return result

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
        reply: _Reply,
        meta: Mapping[str, Any],
        wall_ms: float,
    ) -> GenerationResult:
        spec = None
        if self._catalogue is not None:
            spec = self._catalogue.get(getattr(request, "model", None) or "")
        result = build_result(
            request, images, reply.headers, meta, wall_ms,
            base_url=self.base_url, retries=reply.retries, spec=spec,
        )  # fmt: skip
        if reply.waited_s:
            result.timing = replace(result.timing, retry_wait_ms=reply.waited_s * 1000)
        return result

    def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: Body | None = None,
        params: Mapping[str, str] | None = None,
        auth: bool = True,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
        model: str | None = None,
    ) -> _Reply:
        """One call with bounded retries. Returns the response with its (bounded) body.

        Retries 429/500/502/503/504 and dropped connections, waiting ``Retry-After`` (or the
        rate-limit reset header on a 429) when the server says, else exponential backoff with
        jitter. Never retries other statuses, timeouts or bodies that are not what they claim.
        """
        bearer = self._auth(required=auth)  # before anything is sent
        url = self.base_url + path
        policy = self.retry
        waited = 0.0
        retries = 0
        while True:
            locked = self.gate.lock_reason()
            if locked is not None and self.gate.wait_s() > policy.max_total_wait_s - waited:
                left = self.gate.wait_s()
                raise ErrorBudgetError(
                    f"not sent: {locked}", resets_at=time.time() + left, retry_after=left
                )
            # The gate paces every worker from the rate-limit headers (and a 429's pause).
            while (slot := self.gate.take(model or path))[0] is None:
                self._pause(slot[1], cancel)
            self._pause(0, cancel)
            blocked = self.breaker.blocked()
            if blocked is not None:
                raise self._through_proxy(
                    APIConnectionError(f"not sent to {self._shown_url}: {blocked}")
                )
            payload = body.requests_kwargs() if body is not None else {"json": json_body}
            reply, failure, retryable = self._attempt(method, url, payload, params, bearer)
            self.gate.finish(slot[0], *((reply.headers, reply.status) if reply else (None,)))
            if reply is not None and 200 <= reply.status < 300:
                reply.retries = retries
                reply.waited_s = waited
                return reply
            if reply is not None and reply.status < 400:  # redirects are not followed (POST, key)
                where = reply.headers.get("Location") or "elsewhere"
                raise InvalidResponseError(
                    f"the server answered HTTP {reply.status}, redirecting to {where}",
                    hint="Check the base URL (%venice config); redirects are not followed.",
                )
            status: int | None = None
            if reply is not None:
                status = reply.status
                failure = api_error(status, reply.headers, reply.body, model=model, path=path)
                if status == 404 and model is None:  # no such path: the base URL is wrong
                    failure.hint = (
                        f"{self._shown_url} has no {path}: the base URL should be the API root, "
                        f"e.g. {DEFAULT_BASE_URL} (see %venice config)."
                    )
                retryable = should_retry(status, reply.headers, policy=policy)
                if isinstance(failure, ModelOfflineError):  # switched off, not busy
                    retryable = False
            assert failure is not None
            if status is None or status in (407, 502, 504):
                failure = self._through_proxy(failure)
            if not retryable or retries >= policy.max_retries:
                if retries:
                    failure.message += f" (after {plural(retries, 'retry', 'retries')})"
                raise failure
            headers = reply.headers if reply is not None else None
            delay = retry_delay(retries + 1, headers, status=status, policy=policy)
            if waited + delay > policy.max_total_wait_s:
                if isinstance(failure, ErrorBudgetError):  # every worker stops sending too
                    self.gate.lock_out(delay, _short(failure.message))
                if hasattr(failure, "retry_after") and failure.retry_after is None:
                    failure.retry_after = delay
                failure.message += (
                    f" (gave up: waiting {delay:.1f} s more would pass the "
                    f"{policy.max_total_wait_s:g} s retry budget)"
                )
                raise failure
            retries += 1
            if status == 429:
                self.gate.pause(delay)
            reason = f"HTTP {status}: {_short(failure.message)}" if status else failure.message
            event = RetryEvent(retries, policy.max_retries, delay, status, reason)
            log.info("venice_nb: %s", event.describe())
            for callback in (on_retry, self.on_retry):
                if callback is not None:
                    callback(event)
            self._pause(delay, cancel)
            waited += delay

    def _attempt(
        self,
        method: str,
        url: str,
        payload: Mapping[str, Any],
        params: Mapping[str, str] | None,
        bearer: Bearer | None,
    ) -> tuple[_Reply | None, VeniceError | None, bool]:
        """One HTTP exchange: (reply, None, _) or (None, error, retryable). Never raises ours
        from inside an ``except`` block, so no ``requests`` exception is chained to it."""
        failure: VeniceError | None = None
        retryable = False
        resp: requests.Response | None = None
        try:
            resp = self._session.request(
                method, url, **payload, params=params, auth=bearer, stream=True,
                headers={"Accept-Encoding": "gzip"}, allow_redirects=False,
                timeout=(self.connect_timeout, self.read_timeout),
            )  # fmt: skip
            self.breaker.succeeded()  # any answer: the server is up
            stream = ImagesStream() if _json_success(resp) else None
            body = read_body(
                resp, self.max_response_bytes, deadline_s=self.read_timeout, watcher=stream
            )
            if stream is None:
                return _Reply(resp.status_code, resp.headers, body), None, False
            body, images_json = stream.finish(body)
            return (
                _Reply(resp.status_code, resp.headers, body, images_json=images_json),
                None,
                False,
            )
        except BodyTimeout as exc:
            failure = APITimeoutError(exc.message)
        except InvalidResponseError as exc:
            failure = InvalidResponseError(exc.message, hint=exc.hint)
        except requests.exceptions.ConnectTimeout:
            failure = APIConnectionError(
                f"could not connect to {self._shown_url} within {self.connect_timeout:g} s"
            )
            retryable = True
            self.breaker.failed(f"no connection within {self.connect_timeout:g} s")
        except requests.exceptions.ReadTimeout:
            failure = APITimeoutError(
                f"no answer from {self._shown_url} within {self.read_timeout:g} s"
            )
        except requests.exceptions.ContentDecodingError:
            failure = InvalidResponseError("the server's compressed answer could not be decoded")
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
            if "timed out" in str(e).lower():
                failure = APITimeoutError(
                    f"no answer from {self._shown_url} within {self.read_timeout:g} s"
                )
            else:
                failure = APIConnectionError(
                    f"the connection to {self._shown_url} failed or was dropped "
                    f"({_connection_reason(e)})"
                )
                retryable = True
                if _never_connected(e):
                    self.breaker.failed(_connection_reason(e))
        except requests.exceptions.RequestException as exc:
            failure = APIConnectionError(
                f"the request to {self._shown_url} failed ({type(exc).__name__})"
            )
        finally:
            if resp is not None:
                resp.close()
        return None, failure, retryable

    def _through_proxy(self, failure: VeniceError) -> VeniceError:
        """``failure`` naming the environment's proxy, if the call went through one."""
        proxy = proxy_for(self.base_url) if self._session.trust_env else None
        if proxy is not None and proxy.url not in failure.message:
            failure.message += f" ({proxy.describe()}; to go direct, add the host to NO_PROXY)"
        return failure

    @staticmethod
    def _pause(seconds: float, cancel: threading.Event | None) -> None:
        """Sleep ``seconds`` (0 returns at once); a set ``cancel`` ends it with CancelledError."""
        if cancel is not None and cancel.is_set():
            raise CancelledError()
        if seconds <= 0:
            return
        if cancel is None:
            time.sleep(seconds)
        elif cancel.wait(seconds):
            raise CancelledError()


# ---- helpers ---------------------------------------------------------------------------------


OPERATION_MODEL_TYPE = {
    "edit": "inpaint",
    "multi-edit": "inpaint",
    "upscale": "upscale",
    "remove-background": "image",  # bria-bg-remover is listed under type=image
}


def _expect(request: Any, kind: type) -> Any:
    if not isinstance(request, kind):
        raise TypeError(f"expected a {kind.__name__}, got {type(request).__name__}")
    return request


def _json_success(resp: requests.Response) -> bool:
    """A 200 in JSON: its ``images`` strings are worth decoding while they arrive."""
    kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return resp.status_code == 200 and kind == "application/json"


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _never_connected(exc: Exception) -> bool:
    """True when no connection to the server (or its proxy) was made at all: refused, no such
    host, unreachable. A connection dropped mid-answer means the server is up."""
    from urllib3.exceptions import NewConnectionError, ProxyError

    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, (NewConnectionError, ProxyError))


def _connection_reason(exc: Exception) -> str:
    """A short, header-free reason: 'connection refused', 'connection reset', ..."""
    text = str(exc).lower()
    for needle, reason in (
        ("refused", "connection refused"),
        ("reset", "connection reset"),
        ("aborted", "connection aborted"),
        ("remote end closed", "closed without an answer"),
        ("incomplete", "answer cut short"),
        ("name or service", "host name not found"),
        ("nodename", "host name not found"),
        ("getaddrinfo", "host name not found"),
    ):
        if needle in text:
            return reason
    return type(exc).__name__
