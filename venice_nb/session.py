"""What the magic, the panel and the Python API share: settings, one client, the backend choice.

One ``VeniceSession`` per kernel (``get_session()``). It decides between the real API and the local
preview server (``auto``: the real API when a key is present), builds the single ``VeniceClient``,
validates requests against the catalogue, and consults the result cache. The magic's traitlets push
their values into ``session.settings``; the panel reads the same object, so both behave alike.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from . import settings as settings_module
from .apikey import Secret, current_key, masked, wrap
from .cache import ResultCache
from .errors import ConfigurationError, redact_url
from .inflight import InFlight
from .jobs import Job
from .lineage import lineage_for
from .operations.common import ToolboxRequest
from .operations.generate import GenerateRequest, Review, request_from
from .operations.openai import review_openai
from .operations.request import Request
from .retry import RetryPolicy
from .settings import Settings, default_cache_dir
from .sweep import SweepRunner
from .urls import resolve_base_url
from .verbs import ToolboxVerbs
from .version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .account import KeyStanding
    from .catalogue import ModelSpec
    from .client import VeniceClient
    from .result import AnswerTime, GenerationResult, SweepCell
    from .retry import RetryCallback

# The client (requests, urllib3) is imported when the first call is made, not at %load_ext.
_T = TypeVar("_T", bound=ToolboxRequest)
LOCAL_KEY = "local-preview"  # the local server accepts any bearer key; never send the user's


class VeniceSession(ToolboxVerbs):
    """Shared state for one kernel. Thread-safe: the panel's worker uses it too."""

    def __init__(
        self, settings: Settings | dict[str, Any] | None = None, *, kernel: bool = False
    ) -> None:
        self._kernel = kernel  # the kernel's own session publishes its settings to the display
        if isinstance(settings, dict):  # VeniceSession({"backend": "local"}) reads naturally
            settings = Settings(**settings)
        elif settings is not None and not isinstance(settings, Settings):
            raise TypeError(
                f"VeniceSession expects Settings or a dict of settings, got "
                f"{type(settings).__name__}; e.g. VeniceSession(Settings(backend='local'))"
            )
        self.settings = settings or Settings()
        self._lock = threading.RLock()
        self._client: VeniceClient | None = None
        self._client_backend: str | None = None
        self._login_key: Secret | None = None  # masked in any repr or traceback
        self._cache: ResultCache | None = None
        self._notice_shown = False
        self._earlier_answers: list[AnswerTime] | None = None  # from the cache, read once
        self._refused: dict[str, str] = {}  # setting -> why its last assignment was refused
        self._in_flight = InFlight()  # cache keys being fetched: the same request waits for them

    # ---- configuration -----------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value
        if self._kernel:
            settings_module.publish(value)

    def configure(self, **changes: Any) -> None:
        """Change settings, each checked by its rule (``Settings.check``); the client is rebuilt
        when a connection setting changed. Raises ConfigurationError for a refused value."""
        with self._lock:
            self.settings = self.settings.changed(**changes)
            for name in changes:
                self._refused.pop(name, None)
            if changes.keys() & {
                "backend",
                "base_url",
                "connect_timeout",
                "read_timeout",
                "max_retries",
            }:
                self._drop_client()
            if changes.keys() & {"cache_dir", "cache_max_mb", "cache_enabled"}:
                self._cache = None

    def refuse(self, name: str, reason: str) -> None:
        """Remember that setting ``name`` was just refused (``reason``: one line).

        IPython's ``%config`` only logs a refused value and the cell succeeds, so Run All would go
        on with the old value; every generation is refused until ``name`` gets a valid value."""
        with self._lock:
            self._refused[name] = reason

    def accept(self, name: str) -> None:
        """Setting ``name`` was given a valid value (perhaps the one it already had)."""
        with self._lock:
            self._refused.pop(name, None)

    @property
    def refused(self) -> dict[str, str]:
        with self._lock:
            return dict(self._refused)

    def check_refusals(self) -> None:
        """Raise ConfigurationError (one line) while a refused setting is pending."""
        with self._lock:
            pending = next(iter(self._refused.items()), None)
        if pending is not None:
            name, reason = pending
            reason = reason.rstrip(".")
            raise ConfigurationError(
                f"nothing runs while a setting is refused: {reason}; set "
                f"VeniceMagics.{name} to a valid value with %config (the old value "
                f"{_shown(getattr(self.settings, name))} is still in use)"
            )

    def login(self, api_key: str | None) -> None:
        """Keep a key in memory for this kernel only (``%venice login``).

        It is held wrapped (masked repr) and the plain string dropped at once, so not even a
        ``%xmode Verbose`` traceback through this session shows it.
        """
        secret = wrap(api_key)  # stripped; a blank key is no key, as for the client
        del api_key
        with self._lock:
            self._login_key = secret
            self._drop_client()

    @property
    def has_key(self) -> bool:
        return current_key(self._login_key) is not None

    @property
    def masked_key(self) -> str:
        return masked(self._login_key)

    @property
    def backend(self) -> Literal["venice", "local"]:
        """The backend a call made now would use."""
        choice = self.settings.backend
        if choice == "auto":
            return "venice" if self.has_key else "local"
        return choice

    def describe(self) -> dict[str, Any]:
        """The effective configuration, key masked, for ``%venice config``."""
        info: dict[str, Any] = {name: getattr(self.settings, name) for name in Settings.names()}
        if info["base_url"]:
            info["base_url"] = redact_url(info["base_url"])
        backend = self.backend
        info["effective_backend"] = "local preview" if backend == "local" else "Venice API"
        info["effective_base_url"] = (
            self._client.base_url
            if self._client is not None and self._client_backend == backend
            else (
                "(local preview server, started on first use)"
                if backend == "local"
                else _resolved(self.settings.base_url)
            )
        )
        info["effective_base_url"] = redact_url(info["effective_base_url"])
        for name, reason in self.refused.items():
            info[f"refused {name}"] = reason
        info["api_key"] = self.masked_key
        info["cache_dir"] = self.settings.cache_dir or default_cache_dir()
        return info

    def __repr__(self) -> str:
        return f"<VeniceSession backend={self.backend} key={self.masked_key}>"

    # ---- the client --------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """Where this session sends now (its client's ``origin``): a result made here keeps it, and
        its verbs refuse to run once a login or a new base URL points the session elsewhere."""
        return self.client().origin

    def client(self) -> VeniceClient:
        """The one client for the current backend (starting the local server if needed)."""
        with self._lock:
            backend = self.backend
            if self._client is not None and self._client_backend == backend:
                return self._client
            self._drop_client()
            from .client import VeniceClient

            s = self.settings
            policy = RetryPolicy(max_retries=s.max_retries)
            common: dict[str, Any] = dict(
                connect_timeout=s.connect_timeout,
                read_timeout=s.read_timeout,
                retry=policy,
                pool_size=max(4, s.concurrency * 2),
            )
            if backend == "local":
                from .server import shared_server

                server = shared_server()
                client = VeniceClient(LOCAL_KEY, base_url=server.base_url, **common)
            else:
                if not self.has_key:
                    raise ConfigurationError(
                        "backend 'venice' needs an API key",
                        hint="Set VENICE_API_KEY or run %venice login, or use the local preview "
                        "with %config VeniceMagics.backend = 'local'.",
                    )
                client = VeniceClient(self._login_key, base_url=s.base_url, **common)
            self._client, self._client_backend = client, backend
            return client

    def recent_answers(self) -> list[AnswerTime]:
        """Measured answers (model, pixels, wall time), oldest first: what the cache kept from
        earlier kernels for this server (read once), then the current client's. None before a
        client exists (asking never makes one)."""
        client = self._client
        if client is None:
            return []
        if self._earlier_answers is None:
            cache = self.cache
            local = self._client_backend == "local"
            self._earlier_answers = (
                cache.answer_times(base_url=client.base_url, local=local) if cache else []
            )
        return self._earlier_answers + list(client.recent_answers)

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
        self._client_backend = None
        self._earlier_answers = None  # another server: its own earlier answers

    def balance(self) -> KeyStanding:
        """The key's standing (tier, spendable USD/DIEM, expiry, per-model limits) from
        ``GET /api_keys/rate_limits``; keyless, the local preview's simulated answer, marked so."""
        return self.client().rate_limits()

    def take_notice(self) -> str | None:
        """A one-time note when the local preview is used because no key is set."""
        with self._lock:
            if self._notice_shown or self.backend != "local":
                return None
            self._notice_shown = True
        if self.settings.backend == "local":
            return "Using the local preview backend (set by configuration): images are procedural previews."
        return (
            "No Venice API key found, so images come from the built-in local preview server "
            "(procedural pictures, not AI). For real images set VENICE_API_KEY before starting "
            "Jupyter, or run %venice login."
        )

    # ---- requests ----------------------------------------------------------------------------

    def spec_for(self, model: str) -> ModelSpec:
        return self.client().models().require(model)

    def default_model(self) -> str:
        if self.settings.default_model:
            return self.settings.default_model
        model = self.client().models().default_id
        if model is None:
            raise ConfigurationError("the server lists no image models")
        return model

    def build_request(self, **fields_: Any) -> GenerateRequest:
        """A request with the configured defaults filled in (model, format), not yet validated."""
        if not fields_.get("model"):
            fields_["model"] = self.default_model()
        if fields_.get("format") is None and self.settings.default_format:
            fields_["format"] = self.settings.default_format
        return GenerateRequest(**fields_)

    def request_from(self, value: Any, where: str) -> GenerateRequest:
        """``value`` as a request: a GenerateRequest, or a plain prompt with the configured
        defaults; anything else is a TypeError that says how to build one."""
        if isinstance(value, str):
            return self.build_request(prompt=value)
        return request_from(value, where)

    @overload
    def validate(self, request: GenerateRequest | str, route: str = ...) -> GenerateRequest: ...
    @overload
    def validate(self, request: _T, route: str = ...) -> _T: ...
    def validate(self, request: Request | str, route: str = "generate") -> Request:
        """Every check that can be made without generating: raises ValidationError.

        Returns the request to send (fields the model ignores left out), marked validated for
        ``route``: a surface validates once and hands this value on, and ``generate`` sends it
        without checking it again."""
        if isinstance(request, ToolboxRequest):  # its catalogue; what its model ignores dropped
            return self.review(request, route).request
        request = self.request_from(request, "VeniceSession.validate")
        return self.review(request, route).request

    def review(self, request: Request | str, route: str = "generate") -> Review[Any]:
        """``validate`` plus the one-line warnings a surface shows once (see ``Review``)."""
        if isinstance(request, ToolboxRequest):  # checked against its own catalogue
            from .operations.unused import without_unused

            client = self.client()
            request.check()  # what can be refused without the catalogue is, before fetching it
            spec = client.operation_spec(request, fetch=True)
            kept, warnings, ignored = without_unused(request, spec)
            return Review(client.validate_operation(kept), warnings, ignored)
        request = self.request_from(request, "VeniceSession.review")
        client = self.client()
        if route == "openai":
            review = review_openai(request, client.models())
            review.request.mark_validated("openai")
            return review
        return client.review(request)

    def is_cached(self, request: Request, route: str = "generate") -> bool:
        """Whether ``generate`` would serve ``request`` from the cache (free, nothing sent)."""
        found = self._cache_entry(request, route)
        return found is not None and found[0].has(found[1])

    def _cache_entry(self, request: Request, route: str) -> tuple[ResultCache, str] | None:
        """The cache and key for ``request``: seeded requests, and every toolbox request (keyed by
        input bytes and parameters, never URL credentials), when the cache is on."""
        if isinstance(request, ToolboxRequest):
            cache = self.cache if request.cacheable else None
            if cache is None:
                return None
            origin = self._cache_origin(self.client())
            return cache, cache.key(request.operation, origin, request.cache_json())
        cache = self.cache if getattr(request, "seed", None) is not None else None
        if cache is None:
            return None
        return cache, cache.key(route, self._cache_origin(self.client()), request.to_json())

    def estimated_cost(self, request: Request) -> float | None:
        """USD from the catalogue's prices; None for an unpriced or unlisted model."""
        if isinstance(request, ToolboxRequest):  # priced from its own catalogue
            return operation_cost(self.client(), request)
        request = self.request_from(request, "VeniceSession.estimated_cost")
        spec = self.client().models().get(request.model)
        if spec is None or not spec.is_generation_model:
            return None
        return request.estimated_cost(spec)

    def _cache_origin(self, client: VeniceClient) -> str:
        """Where results come from, for the cache key. The local preview server gets a new port
        in every kernel but renders the same bytes for the same request (per package version), so
        its results are keyed by name, not by URL, and a re-run after a restart stays free."""
        if self._client_backend == "local":
            return f"local-preview/{__version__}"
        return client.base_url

    @property
    def cache(self) -> ResultCache | None:
        if not self.settings.cache_enabled:
            return None
        with self._lock:
            if self._cache is None:
                self._cache = ResultCache(
                    self.settings.cache_dir or default_cache_dir(),
                    max_bytes=int(self.settings.cache_max_mb * 1024 * 1024),
                )
            return self._cache

    def generate(
        self,
        request: GenerateRequest,
        *,
        route: Literal["generate", "openai"] = "generate",
        use_cache: bool = True,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Validate (unless the surface did), look in the cache (seeded requests only), generate,
        store."""
        request = self.request_from(request, "VeniceSession.generate")
        self.check_refusals()
        if request.validated != route:
            request = self.validate(request, route)
        client = self.client()
        cache, key = (self._cache_entry(request, route) if use_cache else None) or (None, None)
        if cache is None or key is None:
            return self._generate(client, request, route, on_retry, cancel).made_by(self)
        with self._in_flight.first(key, cancel):  # the same request in flight: wait for it
            hit = cache.get(key, request)
            if hit is not None:
                return hit.made_by(self)
            result = self._generate(client, request, route, on_retry, cancel)
            if not result.content_violation:
                cache.put(key, result)
        return result.made_by(self)

    @staticmethod
    def _generate(
        client: VeniceClient,
        request: GenerateRequest,
        route: str,
        on_retry: RetryCallback | None,
        cancel: threading.Event | None,
    ) -> GenerationResult:
        if route == "openai":
            return client.generate_openai(request, on_retry=on_retry, cancel=cancel)
        return client.generate(request, on_retry=on_retry, cancel=cancel)

    def send(
        self,
        request: Request,
        *,
        route: str = "generate",
        use_cache: bool = True,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """The one dispatch: a toolbox request to its endpoint, anything else generated on
        ``route``. Sweeps, the panel's worker and reruns all send through here."""
        if isinstance(request, ToolboxRequest):
            return self.run_operation(
                request, use_cache=use_cache, on_retry=on_retry, cancel=cancel
            )
        generation = self.request_from(request, "VeniceSession.send")
        return self.generate(
            generation, route="openai" if route == "openai" else "generate", use_cache=use_cache,
            on_retry=on_retry, cancel=cancel,
        )  # fmt: skip

    def run_operation(
        self,
        request: ToolboxRequest,
        *,
        use_cache: bool = True,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Run a validated toolbox request: looked up in the cache by its input bytes and
        parameters first, and stored the moment it lands (a sweep's cells one by one)."""
        client = self.client()
        found = self._cache_entry(request, request.operation) if use_cache else None
        cache, key = found if found is not None else (None, None)
        if cache is None or key is None:
            return client.run_operation(request, on_retry=on_retry, cancel=cancel).made_by(self)
        with self._in_flight.first(key, cancel):  # the same request in flight: wait for it
            hit = cache.get(key, request)
            if hit is not None:
                for image in hit.images:  # the cache keeps bytes; lineage comes from the request
                    image.lineage = lineage_for(request)
                return hit.made_by(self)
            result = client.run_operation(request, on_retry=on_retry, cancel=cancel)
            if not result.content_violation:
                cache.put(key, result)
        return result.made_by(self)

    # ---- the maker of what it runs (maker.py) ------------------------------------------------

    def run_toolbox(self, request: ToolboxRequest, *, use_cache: bool = True) -> GenerationResult:
        """A toolbox request from Python (``venice_nb.upscale``, ``img.upscale(2)``): refused
        settings and the catalogue checked first (a refusal sends nothing), then run."""
        self.check_refusals()
        return self.run_operation(self.validate(request), use_cache=use_cache)

    def rerun(self, cells: list[SweepCell], route: str = "generate") -> list[SweepCell]:
        """A sweep's failed cells sent again, concurrently like the sweep itself."""
        jobs = [Job(cell.request, cell.params) for cell in cells]
        return SweepRunner(self, jobs, route="openai" if route == "openai" else "generate").run()


def operation_cost(client: VeniceClient, request: ToolboxRequest) -> float | None:
    """A toolbox request's price from the catalogue (None for an edit model it does not list)."""
    spec = client.operation_spec(request, fetch=True)
    if spec is None and request.operation in ("edit", "multi-edit"):
        return None
    return request.estimated_cost(spec)


def _shown(value: Any) -> str:
    return repr(redact_url(value)) if isinstance(value, str) else repr(value)


def _resolved(base_url: str | None) -> str:
    try:
        return resolve_base_url(base_url)
    except ConfigurationError as exc:
        return f"(not usable: {exc.one_line()})"


_session: VeniceSession | None = None
_session_lock = threading.Lock()


def get_session() -> VeniceSession:
    """The kernel's session (created on first use)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = VeniceSession(kernel=True)
        return _session
