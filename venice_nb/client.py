"""``VeniceClient``: every byte that goes over the wire goes through here.

One ``requests.Session`` (connection reuse), a base URL, the key (read when a call is made, never
stored in a repr), timeouts, bounded retries and the mapping of every failure to an error class from
``errors.py``. No IPython, no widgets, no PIL: this works in a plain script.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import requests
from urllib3.exceptions import MaxRetryError

from . import __version__
from .errors import (
    STATUS_ERRORS,
    APIConnectionError,
    APIError,
    APITimeoutError,
    BadRequestError,
    ConfigurationError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    VeniceError,
)
from .models import Catalogue
from .ratelimit import RateGate, RetryCallback, RetryEvent, RetryPolicy, seconds_until_reset
from .request import GenerateRequest, OpenAIImageRequest
from .result import LOCAL_PREVIEW, GeneratedImage, GenerationResult, RateLimit, Timing
from .wire import parse_images_json, read_body

DEFAULT_BASE_URL = "https://api.venice.ai/api/v1"
KEY_ENV = "VENICE_API_KEY"
BASE_URL_ENV = "VENICE_BASE_URL"
MAX_RESPONSE_BYTES = 200 * 1024 * 1024  # four 4K PNGs as base64 fit; a runaway body does not


def mask(key: str | None) -> str:
    """How a key is ever shown: never more than its last two characters."""
    if not key:
        return "<not set>"
    return "****" + key[-2:] if len(key) >= 12 else "****"


def resolve_base_url(base_url: str | None = None) -> str:
    url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"base URL {url!r} must start with http:// or https://",
            hint="e.g. https://api.venice.ai/api/v1",
        )
    return url


class _Secret:
    """Holds the explicit key so that no repr, traceback local or pickle shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return mask(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("the API key cannot be pickled")


class VeniceClient:
    """A client for the Venice image API (or the local preview server: same protocol).

    ``api_key`` wins over ``$VENICE_API_KEY``, which is read at each call, so a key exported after
    the client was made is still used. ``base_url`` defaults to ``$VENICE_BASE_URL`` or the public
    API. ``on_retry`` is called before every retry wait.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        retry: RetryPolicy | None = None,
        on_retry: RetryCallback | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        pool_size: int = 16,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self._key = _Secret(api_key) if api_key else None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self.max_response_bytes = max_response_bytes
        self.gate = RateGate()
        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["User-Agent"] = f"venice-nb/{__version__}"
        self._catalogue: Catalogue | None = None
        self._styles: list[str] | None = None
        self._lock = threading.Lock()

    # ---- key ---------------------------------------------------------------------------------

    @property
    def has_key(self) -> bool:
        return bool(self._key or os.environ.get(KEY_ENV))

    @property
    def masked_key(self) -> str:
        return mask(self._key.get() if self._key else os.environ.get(KEY_ENV))

    def set_key(self, api_key: str | None) -> None:
        self._key = _Secret(api_key) if api_key else None

    def _auth_header(self) -> dict[str, str]:
        key = self._key.get() if self._key else os.environ.get(KEY_ENV)
        if not key:
            raise ConfigurationError(
                "no Venice API key",
                hint="Set VENICE_API_KEY in the environment or run %venice login.",
            )
        return {"Authorization": f"Bearer {key}"}

    def __repr__(self) -> str:
        return f"VeniceClient(base_url={self.base_url!r}, api_key={self.masked_key!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> VeniceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- endpoints ---------------------------------------------------------------------------

    def models(self, refresh: bool = False) -> Catalogue:
        """The image models (``GET /models?type=image``), cached on the client."""
        with self._lock:
            if self._catalogue is not None and not refresh:
                return self._catalogue
        _resp, body = self._send("GET", "/models", params={"type": "image"}, auth=False)
        try:
            catalogue = Catalogue.from_json(json.loads(body))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidResponseError(f"the models list could not be read ({exc})") from None
        with self._lock:
            self._catalogue = catalogue
        return catalogue

    def styles(self, refresh: bool = False) -> list[str]:
        """Style names for ``style_preset``. Accepts ``{object, data}`` and a bare list."""
        with self._lock:
            if self._styles is not None and not refresh:
                return list(self._styles)
        _resp, body = self._send("GET", "/image/styles", auth=False)
        try:
            parsed = json.loads(body)
        except ValueError:
            raise InvalidResponseError("the styles list is not valid JSON") from None
        styles = parsed.get("data") if isinstance(parsed, dict) else parsed
        if not isinstance(styles, list) or not all(isinstance(s, str) for s in styles):
            raise InvalidResponseError("the styles response holds no list of names")
        with self._lock:
            self._styles = list(styles)
        return list(styles)

    def validate(self, request: GenerateRequest) -> GenerateRequest:
        """Check a request against the live catalogue and styles before it costs anything."""
        spec = self.models().require(request.model)
        styles = self.styles() if request.style_preset is not None else None
        return request.check_against(spec, styles)

    def generate(
        self,
        request: GenerateRequest,
        *,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """``POST /image/generate``; JSON (1-4 variants) or ``return_binary`` bytes."""
        request.check()
        started = time.perf_counter()
        resp, body = self._send(
            "POST", "/image/generate", json_body=request.to_json(), on_retry=on_retry, cancel=cancel
        )
        wall_ms = (time.perf_counter() - started) * 1000
        headers = resp.headers
        flags = _flags(headers)
        if request.return_binary:
            images = [GeneratedImage.from_bytes(bytes(body), index=0, seed=request.seed, **flags)]
            meta: dict[str, Any] = {}
        else:
            meta, raw_images = parse_images_json(body)
            del body
            seed = _echoed_seed(meta) if request.seed is None else request.seed
            images = [
                GeneratedImage.from_bytes(data, index=i, seed=seed if i == 0 else None, **flags)
                for i, data in enumerate(raw_images)
            ]
        result = self._result(request, images, resp, meta, wall_ms)
        result.seed = images[0].seed
        return result

    def generate_openai(
        self,
        request: OpenAIImageRequest | GenerateRequest,
        *,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """``POST /images/generations`` (OpenAI-compatible); b64_json or data-URL answers."""
        if isinstance(request, GenerateRequest):
            request = OpenAIImageRequest.from_generate(request)
        started = time.perf_counter()
        resp, body = self._send(
            "POST", "/images/generations", json_body=request.to_json(), on_retry=on_retry,
            cancel=cancel,
        )  # fmt: skip
        wall_ms = (time.perf_counter() - started) * 1000
        try:
            parsed = json.loads(body)
            items = parsed["data"]
            assert isinstance(items, list) and items
        except (ValueError, KeyError, TypeError, AssertionError):
            raise InvalidResponseError("the answer has no 'data' list of images") from None
        flags = _flags(resp.headers)
        images = []
        for i, item in enumerate(items):
            b64 = item.get("b64_json") if isinstance(item, dict) else None
            if b64 is None and isinstance(item, dict) and isinstance(item.get("url"), str):
                url = item["url"]
                if not url.startswith("data:") or "," not in url:
                    raise InvalidResponseError("the image url is not a data: URL")
                b64 = url.split(",", 1)[1]
            if not isinstance(b64, str):
                raise InvalidResponseError(f"image {i + 1} has neither b64_json nor url")
            _, [data] = parse_images_json(
                bytearray(json.dumps({"images": [b64]}).encode()), key="images"
            )
            images.append(GeneratedImage.from_bytes(data, index=i, **flags))
        result = self._result(request, images, resp, {}, wall_ms)
        result.route = "openai"
        return result

    # ---- plumbing ----------------------------------------------------------------------------

    def _result(
        self,
        request: GenerateRequest | OpenAIImageRequest,
        images: list[GeneratedImage],
        resp: requests.Response,
        meta: Mapping[str, Any],
        wall_ms: float,
    ) -> GenerationResult:
        h = resp.headers
        deprecation = h.get("x-venice-model-deprecation-warning")
        if not deprecation and h.get("x-venice-deprecated") == "true":
            deprecation = "this model is deprecated"
        if deprecation and h.get("x-venice-deprecated-replacement"):
            deprecation += f" (use {h['x-venice-deprecated-replacement']})"
        enhanced = h.get("x-venice-enhanced-prompt")
        result = GenerationResult(
            request=request,
            images=images,
            id=meta.get("id") if isinstance(meta.get("id"), str) else None,
            timing=Timing.from_api(meta.get("timing"), wall_ms),
            blurred=any(im.blurred for im in images),
            content_violation=any(im.content_violation for im in images),
            rate_limit=RateLimit(
                _int(h.get("x-ratelimit-limit-requests")),
                _int(h.get("x-ratelimit-remaining-requests")),
                seconds_until_reset(h.get("x-ratelimit-reset-requests")),
            ),
            balance_usd=_float(h.get("x-venice-balance-usd")),
            balance_diem=_float(h.get("x-venice-balance-diem")),
            deprecation=deprecation,
            enhanced_prompt=unquote(enhanced) if enhanced else None,
            backend=LOCAL_PREVIEW if h.get("x-venice-local-preview") == "true" else "venice",
            base_url=self.base_url,
            request_id=h.get("CF-RAY"),
            retries=getattr(resp, "venice_retries", 0),
        )
        if not result.content_violation and self._catalogue is not None:
            spec = self._catalogue.get(getattr(request, "model", None) or "")
            if spec is not None:
                price = spec.price(
                    getattr(request, "resolution", None), getattr(request, "quality", None)
                )
                result.cost_usd = None if price is None else price * len(images)
        elif result.content_violation:
            result.cost_usd = 0.0
        return result

    def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        auth: bool = True,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[requests.Response, bytearray]:
        """One call with bounded retries. Returns the response and its (bounded) body."""
        url = self.base_url + path
        headers = {"Accept-Encoding": "gzip"}
        if auth or self.has_key:
            headers.update(self._auth_header())
        state = self.retry.start()
        waited = 0.0
        retries = 0
        while True:
            self.gate.wait(cancel)
            if cancel is not None and cancel.is_set():
                raise VeniceError("cancelled")
            resp = None
            error: Exception | None = None
            try:
                resp = self._session.request(
                    method, url, json=json_body, params=params, headers=headers, stream=True,
                    timeout=(self.connect_timeout, self.read_timeout),
                )  # fmt: skip
                body = read_body(resp, self.max_response_bytes)
            except requests.exceptions.ConnectTimeout as exc:
                error = APIConnectionError(f"could not connect to {self.base_url} in time")
                cause: Exception = exc
            except (requests.exceptions.ReadTimeout, TimeoutError) as exc:
                raise APITimeoutError(
                    f"no answer from {self.base_url} within {self.read_timeout:g} s"
                ) from _scrub(exc)
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                if "Read timed out" in str(exc):
                    raise APITimeoutError(
                        f"no answer from {self.base_url} within {self.read_timeout:g} s"
                    ) from _scrub(exc)
                error = APIConnectionError(
                    f"the connection to {self.base_url} failed or was dropped"
                )
                cause = exc
            except requests.exceptions.RequestException as exc:
                raise APIConnectionError(
                    f"the request to {self.base_url} failed: {type(exc).__name__}"
                ) from _scrub(exc)
            if error is None:
                assert resp is not None
                self.gate.observe(resp.headers)
                if resp.status_code < 400:
                    resp.venice_retries = retries  # type: ignore[attr-defined]
                    return resp, body
                failure: Exception = _api_error(resp, body)
                if resp.status_code not in self.retry.statuses:
                    raise failure
                try:
                    state = state.increment(method, url, response=resp.raw)
                except MaxRetryError:
                    raise failure from None
                delay = _server_delay(resp) if resp.status_code in (429, 503) else None
                if delay is None:
                    delay = state.get_backoff_time()
                reason = f"HTTP {resp.status_code} {_short_reason(failure)}"
                status: int | None = resp.status_code
            else:
                failure = error
                try:
                    state = state.increment(method, url, error=_as_urllib3(cause))
                except MaxRetryError:
                    raise failure from None
                delay = state.get_backoff_time()
                reason = "connection dropped"
                status = None
            if waited + delay > self.retry.max_total_wait_s:
                if isinstance(failure, RateLimitError) and failure.retry_after is None:
                    failure.retry_after = delay
                raise failure
            retries += 1
            if status == 429:
                self.gate.pause(delay)
            event = RetryEvent(retries, self.retry.max_retries, delay, status, reason)
            for callback in (on_retry, self.on_retry):
                if callback is not None:
                    callback(event)
            if cancel is not None:
                if cancel.wait(delay):
                    raise VeniceError("cancelled")
            else:
                time.sleep(delay)
            waited += delay


# ---- helpers ---------------------------------------------------------------------------------


def _flags(headers: Mapping[str, str]) -> dict[str, bool]:
    return {
        "blurred": headers.get("x-venice-is-blurred", "").lower() == "true",
        "content_violation": headers.get("x-venice-is-content-violation", "").lower() == "true",
    }


def _echoed_seed(meta: Mapping[str, Any]) -> int | None:
    req = meta.get("request")
    data = req.get("data") if isinstance(req, Mapping) else None
    seed = data.get("seed") if isinstance(data, Mapping) else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _server_delay(resp: requests.Response) -> float | None:
    """Retry-After (seconds or HTTP date), else the rate-limit reset header."""
    from urllib3.util import Retry

    value = resp.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, Retry().parse_retry_after(value))
        except Exception:
            pass
    return seconds_until_reset(resp.headers.get("x-ratelimit-reset-requests"))


def _short_reason(error: Exception) -> str:
    text = getattr(error, "message", str(error))
    return text if len(text) <= 80 else text[:77] + "..."


def _as_urllib3(exc: Exception) -> Exception:
    from urllib3.exceptions import ProtocolError

    return ProtocolError(type(exc).__name__)


def _scrub(exc: Exception) -> Exception | None:
    """Chained exceptions stay, but they hold nothing of ours worth leaking (no headers)."""
    return None


def _api_error(resp: requests.Response, body: bytearray) -> APIError:
    """Map an error status and its body (JSON, string or an HTML page) to one error."""
    status = resp.status_code
    cls = STATUS_ERRORS.get(status, APIError)
    request_id = resp.headers.get("CF-RAY")
    text = bytes(body[:20_000]).decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    message = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(message, str) or not message.strip():
        kind = "an HTML page" if "<html" in text[:500].lower() else "a non-JSON body"
        if parsed is not None:
            kind = "JSON without an error message"
        message = f"HTTP {status} from the server, with {kind}"
    if status == 402 and isinstance(parsed, dict) and "x402Version" in parsed:
        return STATUS_ERRORS[401](
            "the server asked for payment: no API key was sent",
            status=status,
            request_id=request_id,
        )
    kw: dict[str, Any] = {"status": status, "body": parsed, "request_id": request_id}
    if cls is BadRequestError:
        fields = _field_errors(parsed)
        if fields:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
            message = f"{message}: {detail}" if detail not in message else message
        return BadRequestError(message, field_errors=fields, **kw)
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=_server_delay(resp), **kw)
    if cls is NotFoundError:
        model = None
        if isinstance(parsed, dict) and isinstance(parsed.get("model"), str):
            model = parsed["model"]
        return NotFoundError(message, model=model, **kw)
    return cls(message, **kw)


def _field_errors(parsed: Any) -> dict[str, list[str]]:
    """Field messages from a zod ``details`` tree and/or an ``issues`` list."""
    out: dict[str, list[str]] = {}
    if not isinstance(parsed, dict):
        return out
    details = parsed.get("details")
    if isinstance(details, dict):
        for name, node in details.items():
            if name == "_errors":
                if isinstance(node, list) and node:
                    out.setdefault("request", []).extend(str(m) for m in node)
                continue
            if isinstance(node, dict) and isinstance(node.get("_errors"), list):
                out.setdefault(name, []).extend(str(m) for m in node["_errors"])
    elif isinstance(details, str) and details:
        out.setdefault("request", []).append(details)
    issues = parsed.get("issues")
    if isinstance(issues, list):
        for issue in issues:
            if not isinstance(issue, dict):
                continue
            path = issue.get("path") or ["request"]
            name = ".".join(str(p) for p in path)
            msg = str(issue.get("message", ""))
            if msg and msg not in out.get(name, []):
                out.setdefault(name, []).append(msg)
    return out
