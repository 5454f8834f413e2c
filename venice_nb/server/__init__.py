"""Local preview backend: a small Venice-compatible image API server on loopback.

Code written against Venice's public docs runs unchanged against it except for the base URL, so
notebooks work without a key (Binder, CI) and clients can be tested against real HTTP::

    with LocalServer() as srv:
        requests.post(srv.base_url + "/image/generate", json={...},
                      headers={"Authorization": "Bearer anything"})

Routes: ``/image/generate``, ``/images/generations``, ``/image/styles``, ``/models`` (and traits),
``/api_keys/rate_limits`` (``/billing/balance`` is 401, as for any inference key), and the toolbox ``/image/edit``, ``/image/multi-edit``, ``/image/upscale``,
``/image/background-remove`` (JSON or multipart; see ``toolbox`` for where the preview differs:
image URLs are fetched from loopback only). Every paid call, toolbox included, counts in
``generate_count``, is kept in ``received`` (uploaded files as base64) and takes injected faults.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterable
from typing import Any

from .app import VeniceHTTPServer
from .faults import KINDS as FAULT_KINDS
from .faults import RESET_UNITS
from .state import ReceivedRequest, ServerState

TIMING_SHAPES = ("cumulative", "additive")

__all__ = ["FAULT_KINDS", "TIMING_SHAPES", "LocalServer", "ReceivedRequest", "shared_server"]


class LocalServer:
    """A Venice-compatible server on a daemon thread; use as a context manager or start()/stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        auth: bool = True,
        api_keys: Iterable[str] | None = None,
        balance_usd: float = 100.0,
        latency: float = 0.0,
        rate_limit_rpm: int | None = None,
        reset_unit: str = "epoch_ms",
        styles_shape: str = "object",
        rate_window_s: float = 60.0,
        timing: str = "cumulative",
        pro: bool = False,
        error_budget: int = 50,
        balance_diem: float = 0.0,
        edge_models: bool = False,
    ) -> None:
        """``rate_limit_rpm`` requests per ``rate_window_s`` seconds are enforced when set.
        ``timing``: "cumulative" (live: total = queue + preprocessing, which contains inference)
        or "additive" (the docs' example). ``pro`` grants the Pro/beta rows. ``error_budget``:
        failed 4xx per 30 s per key and model before the 429 lockout (50 live). A
        ``balance_diem`` above 0 makes a DIEM-paying account, billed in DIEM. ``edge_models``
        serves the local edge-case rows (``local-offline-model``, ``local-pro-model``)."""
        if reset_unit not in RESET_UNITS:
            raise ValueError(f"reset_unit must be one of {RESET_UNITS}")
        if styles_shape not in ("object", "list"):
            raise ValueError("styles_shape must be 'object' or 'list'")
        if rate_limit_rpm is not None and rate_limit_rpm < 1:
            raise ValueError("rate_limit_rpm must be >= 1 or None")
        if not rate_window_s > 0:
            raise ValueError("rate_window_s must be > 0 (seconds)")
        if timing not in TIMING_SHAPES:
            raise ValueError(f"timing must be one of {TIMING_SHAPES}")
        if error_budget < 1:
            raise ValueError("error_budget must be >= 1")
        self.host = host
        self._requested_port = port
        self._state = ServerState(
            auth=auth,
            api_keys=api_keys,
            balance_usd=balance_usd,
            latency=latency,
            rate_limit_rpm=rate_limit_rpm,
            reset_unit=reset_unit,
            styles_shape=styles_shape,
            rate_window_s=rate_window_s,
            timing=timing,
            pro=pro,
            error_budget=error_budget,
            balance_diem=balance_diem,
        )
        self._state.edge_models = bool(edge_models)
        self._httpd: VeniceHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LocalServer:
        """Bind (a free port when port=0) and serve on a daemon thread. Idempotent."""
        with self._lock:
            if self._httpd is not None:
                return self
            self._state.stopping.clear()
            httpd = VeniceHTTPServer((self.host, self._requested_port), self._state)
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.01},
                name=f"venice-local-{httpd.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and pending sleeps, join the thread. Idempotent."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is None:
            return
        self._state.stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        httpd = self._httpd
        return int(httpd.server_address[1]) if httpd is not None else self._requested_port

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/api/v1"

    # --- knobs ---------------------------------------------------------------------------------

    @property
    def latency(self) -> float:
        """Seconds a generate request takes at least, its own render included (the toolbox routes
        wait this long before working)."""
        return self._state.latency

    @latency.setter
    def latency(self, value: float) -> None:
        if value < 0:
            raise ValueError("latency must be >= 0")
        self._state.latency = float(value)

    @property
    def balance_usd(self) -> float:
        return self._state.ledger.usd

    @balance_usd.setter
    def balance_usd(self, value: float) -> None:
        self._state.ledger.usd = float(value)

    @property
    def timing(self) -> str:
        """Shape of the ``timing`` object: "cumulative" (live) or "additive" (docs' example)."""
        return self._state.timing

    @timing.setter
    def timing(self, value: str) -> None:
        if value not in TIMING_SHAPES:
            raise ValueError(f"timing must be one of {TIMING_SHAPES}")
        self._state.timing = value

    @property
    def pro(self) -> bool:
        """Whether the key has Pro/beta access (else beta rows answer 401)."""
        return self._state.pro

    @pro.setter
    def pro(self, value: bool) -> None:
        self._state.pro = bool(value)

    @property
    def edge_models(self) -> bool:
        """Whether the local edge-case rows (an offline one, a Pro/beta one) are listed and
        served; off by default so nobody meets a fake id by accident."""
        return self._state.edge_models

    @edge_models.setter
    def edge_models(self, value: bool) -> None:
        self._state.edge_models = bool(value)

    @property
    def balance_diem(self) -> float:
        """DIEM balance; above 0 the account is billed in DIEM (setting it switches)."""
        return self._state.ledger.diem

    @balance_diem.setter
    def balance_diem(self, value: float) -> None:
        self._state.ledger.diem = float(value)

    @property
    def log_requests(self) -> bool:
        return self._state.log_requests

    @log_requests.setter
    def log_requests(self, value: bool) -> None:
        self._state.log_requests = bool(value)

    def inject(self, kind: str, count: int = 1, **params: Any) -> None:
        """Queue ``kind`` for the next ``count`` paid calls, toolbox included (see ``faults``)."""
        self._state.faults.inject(kind, count, **params)

    def clear_faults(self) -> None:
        self._state.faults.clear()

    @property
    def pending_faults(self) -> int:
        return len(self._state.faults)

    # --- counters ------------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        return self._state.request_count

    @property
    def generate_count(self) -> int:
        """Paid image requests received: generations and toolbox calls."""
        return self._state.generate_count

    @property
    def received(self) -> list[ReceivedRequest]:
        return self._state.received

    def reset_counters(self) -> None:
        self._state.reset_counters()

    def clear_limits(self) -> None:
        """Forget the request-rate window and the error budget (a fresh minute for the key)."""
        self._state.rate.clear()
        self._state.budget.clear()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LocalServer {self.base_url} {state}>"


_shared: LocalServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> LocalServer:
    """The process-wide local preview server (started lazily, thread-safe, auth on with any key),
    for notebooks with no key."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = LocalServer().start()
            atexit.register(_shared.stop)
        return _shared
