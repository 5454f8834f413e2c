"""The transport: how one call crosses the wire, apart from what the endpoints send.

One ``requests.Session`` (connection reuse), timeouts, bounded bodies (``wire.py``), the rate gate
every worker shares, the circuit breaker, and the retry loop, whose decisions are the named
functions of ``retry.py`` and the small steps below: ``_admit`` (the gate, the breaker),
``_attempt`` (one HTTP exchange), ``_failure`` (what an answer that is not a 2xx means),
``_next_delay`` (retry or give up), ``_announce`` (the retry event). ``VeniceClient`` adds the key
and the endpoints. Our errors are raised outside ``except`` blocks, so they carry no chained
``requests`` exception (whose ``.request`` holds the headers).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from .apikey import Bearer
from .errors import (
    APIConnectionError,
    APITimeoutError,
    CancelledError,
    ConfigurationError,
    ErrorBudgetError,
    InvalidResponseError,
    ModelOfflineError,
    VeniceError,
    redact_url,
)
from .errors import from_response as api_error
from .images_stream import ImagesStream
from .network import CircuitBreaker, current_round, is_loopback, proxy_for
from .operations.common import Body
from .ratelimit import RateGate, Ticket
from .retry import RetryCallback, RetryEvent, RetryPolicy, should_retry
from .retry import delay as retry_delay
from .text import plural
from .urls import DEFAULT_BASE_URL, web_page_answer
from .version import __version__
from .wire import BodyTimeout, read_body

log = logging.getLogger("venice_nb.client")

MAX_RESPONSE_BYTES = 200 * 1024 * 1024  # four 4K PNGs as base64 fit; a runaway body does not


@dataclass
class Reply:
    """A response whose body was read in full (and the connection released)."""

    status: int
    headers: Mapping[str, str]
    body: bytearray
    retries: int = 0
    waited_s: float = 0.0  # spent waiting before retries: its own segment of the timing bar
    # A 200 JSON answer's images, decoded while it arrived; ``body`` then holds the rest of it.
    images_json: tuple[dict[str, Any], list[bytes]] | None = None


class Transport:
    """Sends calls to ``base_url`` with bounded retries; shared by every thread of one client."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        retry: RetryPolicy | None = None,
        on_retry: RetryCallback | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        pool_size: int = 16,
    ) -> None:
        self.base_url = base_url
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

    @property
    def origin(self) -> str:
        """Where this sends, without credentials: what a result records as where it was made."""
        return self._shown_url

    def close(self) -> None:
        self._session.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: Body | None = None,
        params: Mapping[str, str] | None = None,
        bearer: Bearer | None = None,
        on_retry: RetryCallback | None = None,
        cancel: threading.Event | None = None,
        model: str | None = None,
    ) -> Reply:
        """One call with bounded retries. Returns the response with its (bounded) body.

        Retries 429/500/502/503/504 and dropped connections, waiting ``Retry-After`` (or the
        rate-limit reset header on a 429) when the server says, else exponential backoff with
        jitter. Never retries other statuses, timeouts or bodies that are not what they claim.
        """
        url = self.base_url + path
        payload = body.requests_kwargs() if body is not None else {"json": json_body}
        waited, retries = 0.0, 0
        round_token = current_round()  # a sweep's, or this call's own: the breaker's unit
        while True:
            ticket = self._admit(model or path, cancel, waited, round_token)
            reply, failure, retryable = self._attempt(
                method, url, payload, params, bearer, round_token
            )
            self.gate.finish(ticket, *((reply.headers, reply.status) if reply else (None,)))
            if reply is not None and 200 <= reply.status < 300:
                page = web_page_answer(
                    reply.headers.get("Content-Type"), reply.body, self._shown_url
                )
                if page is not None:  # a website, not the API: say what the base URL must be
                    raise page
                reply.retries, reply.waited_s = retries, waited
                return reply
            failure, retryable = self._failure(reply, failure, retryable, path, model)
            status = reply.status if reply is not None else None
            headers = reply.headers if reply is not None else None
            delay = self._next_delay(failure, retryable, status, headers, retries, waited)
            retries += 1
            self._announce(RetryEvent(retries, self.retry.max_retries, delay, status,
                                      _reason(status, failure)), on_retry)  # fmt: skip
            self._pause(delay, cancel)
            waited += delay

    def _admit(
        self, key: str, cancel: threading.Event | None, waited: float, round_token: object = None
    ) -> Ticket:
        """Wait for the gate (the rate limit, a 429's pause) and refuse what cannot go: an error
        budget locked past the retry budget, a server the breaker holds as down."""
        locked = self.gate.lock_reason()
        if locked is not None and self.gate.wait_s() > self.retry.max_total_wait_s - waited:
            left = self.gate.wait_s()
            raise ErrorBudgetError(
                f"not sent: {locked}", resets_at=time.time() + left, retry_after=left
            )
        while (slot := self.gate.take(key))[0] is None:
            self._pause(slot[1], cancel)
        self._pause(0, cancel)
        blocked = self.breaker.blocked(round_token)
        if blocked is not None:
            raise self._through_proxy(
                APIConnectionError(f"not sent to {self._shown_url}: {blocked}")
            )
        return slot[0]

    def _failure(
        self,
        reply: Reply | None,
        failure: VeniceError | None,
        retryable: bool,
        path: str,
        model: str | None,
    ) -> tuple[VeniceError, bool]:
        """What an answer that is not a 2xx (or no answer) means, and whether it is worth
        another try. A redirect is refused at once (POST, key: never followed)."""
        if reply is not None and reply.status < 400:
            where = reply.headers.get("Location") or "elsewhere"
            raise InvalidResponseError(
                f"the server answered HTTP {reply.status}, redirecting to {where}",
                hint="Check the base URL (%venice config; in Python, base_url=); redirects are not followed.",
            )
        status = reply.status if reply is not None else None
        if reply is not None:
            failure = api_error(reply.status, reply.headers, reply.body, model=model, path=path)
            if reply.status == 404 and model is None:  # no such path: the base URL is wrong
                failure.hint = (
                    f"{self._shown_url} has no {path}: the base URL should be the API root, "
                    f"e.g. {DEFAULT_BASE_URL} (see %venice config)."
                )
            retryable = should_retry(reply.status, reply.headers, policy=self.retry)
            if isinstance(failure, ModelOfflineError):  # switched off, not busy
                retryable = False
        assert failure is not None
        if status is None or status in (407, 502, 504):
            failure = self._through_proxy(failure)
        return failure, retryable

    def _next_delay(
        self,
        failure: VeniceError,
        retryable: bool,
        status: int | None,
        headers: Mapping[str, str] | None,
        retries: int,
        waited: float,
    ) -> float:
        """Seconds to wait before the next try; raises ``failure`` when there is none (not
        retryable, out of retries, or past the retry budget)."""
        policy = self.retry
        if not retryable or retries >= policy.max_retries:
            if retries:
                failure.message += f" (after {plural(retries, 'retry', 'retries')})"
            raise failure
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
        if status == 429:
            self.gate.pause(delay)  # every worker waits, not only this one
        return delay

    def _announce(self, event: RetryEvent, on_retry: RetryCallback | None) -> None:
        log.info("venice_nb: %s", event.describe())
        for callback in (on_retry, self.on_retry):
            if callback is not None:
                callback(event)

    def _attempt(
        self,
        method: str,
        url: str,
        payload: Mapping[str, Any],
        params: Mapping[str, str] | None,
        bearer: Bearer | None,
        round_token: object = None,
    ) -> tuple[Reply | None, VeniceError | None, bool]:
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
                return Reply(resp.status_code, resp.headers, body), None, False
            body, images_json = stream.finish(body)
            return (
                Reply(resp.status_code, resp.headers, body, images_json=images_json),
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
            self.breaker.failed(f"no connection within {self.connect_timeout:g} s", round_token)
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
                    self.breaker.failed(_connection_reason(e), round_token)
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


def _reason(status: int | None, failure: VeniceError) -> str:
    return f"HTTP {status}: {_short(failure.message)}" if status else failure.message


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
