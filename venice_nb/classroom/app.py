"""The gateway as an ASGI application (Starlette), forwarding to the upstream with httpx.

One request's path: the route must be forwarded (else 404), the token must name a student who is
not revoked (401), the body must fit (413), the policy must allow it (400/403), the catalogue
must price it, the student's per-minute share must allow it (429), the ledger must reserve the price
(402, naming the budget), the student's queue must have room (429 with Retry-After); only then is
it sent, with the teacher's key, and settled (or released) from the answer. Nothing refused is
forwarded. The answer goes back with the upstream's balance headers replaced by the student's
remaining budget and the key's rate-limit headers dropped: neither is the student's business.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..apikey import Secret
from ..catalogue import Catalogue
from ..errors import CLASSROOM_REFUSAL
from ..urls import redact_url
from ..wire import refused_count
from . import BALANCE_HEADER
from .fairness import FairQueue, QueueFull
from .ledger import Ledger, OverBudget, Student, to_micro, to_usd, usd
from .policy import FREE_ROUTES, PAID_ROUTES, Outgoing, Policy, Refusal, check, retry_after
from .pricing import CATALOGUE_TYPES, Price, price

log = logging.getLogger("venice_nb.classroom")

PREFIX = "/api/v1"
CATALOGUE_TTL_S = 600.0
CATALOGUE_RETRY_S = 60.0  # an unknown model fetches the list again, at most this often
UPSTREAM_429_RETRIES = 3
# The key's balance is not the student's business; "local preview" (a rehearsal in front of the
# preview server) would label the student's answers "not billed" while their budget is charged.
DROPPED_HEADERS = (
    "x-venice-balance-usd",
    "x-venice-balance-diem",
    "x-venice-balance-vcu",
    "x-venice-local-preview",
)


@dataclass
class GatewayConfig:
    """Where to send, with which key (wrapped: no repr shows it), under which policy."""

    upstream: str
    key: Secret
    policy: Policy = field(default_factory=Policy)
    max_in_flight: int = 16

    def __post_init__(self) -> None:
        # The teacher's key is the credential, as in the Python client: a ``user:password@`` in
        # the upstream URL is not sent (httpx would send it as Basic auth instead of the key).
        self.upstream = redact_url(self.upstream.rstrip("/"))


class Gateway:
    """The state one running gateway keeps: ledger, catalogues, queues, per-minute windows."""

    def __init__(self, config: GatewayConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger
        self.queue = FairQueue(config.policy.queue_per_student, config.max_in_flight)
        self.forwarded = 0
        self._http: httpx.AsyncClient | None = None
        self._catalogues: dict[str, Catalogue] = {}
        self._catalogue_at = 0.0
        self._catalogue_lock = asyncio.Lock()
        self._minute: dict[str, deque[float]] = {}
        self.clock = time.monotonic  # the per-minute windows' clock

    # ---- plumbing -----------------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=self.config.max_in_flight * 2 + 8)
        timeout = httpx.Timeout(600.0, connect=10.0)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
            self._http = http
            yield
        self._http = None

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
        routes = [Route("/{path:path}", self.handle, methods=methods)]
        return Starlette(routes=routes, lifespan=self.lifespan)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.config.key.get()}

    async def _send(
        self, method: str, route: str, query: str = "", content: bytes = b"", ctype: str = ""
    ) -> httpx.Response:
        assert self._http is not None, "the gateway's HTTP client runs inside its lifespan"
        headers = self._headers()
        if ctype:
            headers["Content-Type"] = ctype
        url = self.config.upstream + route + (f"?{query}" if query else "")
        self.forwarded += 1
        return await self._http.request(method, url, content=content or None, headers=headers)

    async def catalogues(self, refresh: bool = False) -> dict[str, Catalogue]:
        """The upstream's models of each type, fetched with the key and kept for minutes;
        ``refresh`` fetches them again unless that was done less than a minute ago."""
        async with self._catalogue_lock:
            age = time.monotonic() - self._catalogue_at
            fresh_enough = CATALOGUE_RETRY_S if refresh else CATALOGUE_TTL_S
            if self._catalogues and age < fresh_enough:
                return self._catalogues
            fresh: dict[str, Catalogue] = {}
            for kind in CATALOGUE_TYPES:
                try:
                    reply = await self._send("GET", "/models", f"type={kind}")
                    if reply.status_code != 200:
                        raise Refusal(502, f"the gateway could not read the model list ({kind})")
                    fresh[kind] = Catalogue.from_json(reply.json())
                except httpx.HTTPError as exc:
                    raise Refusal(502, _unreachable(exc)) from None
                except (ValueError, KeyError, TypeError, AttributeError):  # not a model list
                    raise Refusal(
                        502, f"the gateway could not read the model list ({kind})"
                    ) from None
            self._catalogues, self._catalogue_at = fresh, time.monotonic()
            return fresh

    def _left(self, student: Student) -> int:
        """What the student can still spend: their budget's remainder, or the class's when that
        is smaller (a used-up class budget refuses every request, whatever a student has left)."""
        left = student.remaining
        class_budget = self.config.policy.class_budget_usd
        if class_budget is not None:
            left = min(left, to_micro(class_budget) - self.ledger.committed())
        return max(0, left)

    # ---- the request path ---------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        route = request.url.path
        if route.startswith(PREFIX + "/"):
            route = route[len(PREFIX) :]
        if route not in PAID_ROUTES and route not in FREE_ROUTES:
            return _error(
                404, f"{route} is not offered by this classroom gateway (image routes only)"
            )
        method = "POST" if route in PAID_ROUTES else "GET"
        if request.method != method:
            return _error(405, f"{route} takes {method}")
        student = self._student(request)
        if student is None:
            return _error(
                401,
                "a valid class token is needed: run %venice classroom URL and paste the token "
                "your teacher gave you (a revoked token no longer works)",
            )
        try:
            if route in PAID_ROUTES:
                return await self._paid(request, route, student)
            return await self._free(request, route, student)
        except Refusal as refusal:
            if route in PAID_ROUTES:
                self.ledger.count_refusal(student.name)
            message = f"{student.name} {route} refused {refusal.status}: {refusal.message}"
            log.info("%s", _printable(message))
            return _error(refusal.status, refusal.message, refusal.headers, refusal.body())

    def _student(self, request: Request) -> Student | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.ledger.authenticate(token.strip())

    async def _body(self, request: Request) -> bytes:
        limit = self.config.policy.max_body_bytes
        too_big = Refusal(
            413, f"the request body is above this class's limit of {limit // (1024 * 1024)} MB"
        )
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    def _per_minute(self, name: str) -> None:
        cap = self.config.policy.per_minute
        if not cap:
            return
        now = self.clock()
        window = self._minute.setdefault(name, deque())
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= cap:
            headers = retry_after(window[0] + 60.0 - now)  # whole seconds, at least 1
            raise Refusal(
                429,
                f"this class allows {cap} requests per minute per student; "
                f"wait {headers['Retry-After']} s",
                headers,
            )
        window.append(now)

    async def _paid(self, request: Request, route: str, student: Student) -> Response:
        started = time.perf_counter()
        raw = await self._body(request)
        out = check(self.config.policy, route, raw, request.headers.get("content-type", ""))
        try:
            cost = price(out, await self.catalogues(), self.config.policy)
        except Refusal as unknown:  # the catalogue moves: a model it lacks may be new
            if unknown.status != 404:
                raise
            cost = price(out, await self.catalogues(refresh=True), self.config.policy)
        self._per_minute(student.name)  # counts only what the policy would let through
        class_budget = self.config.policy.class_budget_usd
        try:
            held = self.ledger.reserve(
                student.name, cost.most, None if class_budget is None else to_micro(class_budget)
            )
        except OverBudget as over:
            raise Refusal(402, over.message) from None
        reply: httpx.Response | None = None
        try:
            reply = await self._forward(student.name, out)
        finally:
            charged = self._settle(student.name, held, cost, reply)
        after = self.ledger.student(student.name)
        self._log(student.name, out, cost, charged, reply.status_code, started)
        headers = _passed_headers(reply.headers)
        if after is not None:
            headers[BALANCE_HEADER] = _dollars(self._left(after) + charged)  # before this request
        return Response(reply.content, reply.status_code, headers=headers)

    async def _forward(self, name: str, out: Outgoing) -> httpx.Response:
        """Send when the fair queue says so; a 429 from the upstream goes back in the queue."""
        again = False
        for _ in range(UPSTREAM_429_RETRIES + 1):
            try:
                ticket = await self.queue.turn(name, again=again)
            except QueueFull as full:
                raise Refusal(
                    429,
                    f"you have {self.queue.per_student} requests waiting already; wait for them",
                    retry_after(full.retry_after_s),
                ) from None
            try:
                reply = await self._send("POST", out.route, "", out.content, out.content_type)
            except BaseException as exc:  # the slot is given back whatever happened
                self.queue.done(ticket, 0, {})
                if isinstance(exc, httpx.HTTPError):
                    raise Refusal(502, _unreachable(exc)) from None
                raise
            self.queue.done(ticket, reply.status_code, reply.headers)
            if reply.status_code != 429:
                return reply
            again = True
        return reply

    def _settle(self, name: str, held: int, cost: Price, reply: httpx.Response | None) -> int:
        """Charge a priced answer; release everything else (failed, refused, blocked, lost)."""
        blocked = reply is not None and (
            reply.headers.get("x-venice-is-content-violation", "").lower() == "true"
        )
        if reply is None or reply.status_code != 200 or blocked:
            self.ledger.release(held)
            return 0
        refused = _refused(reply)
        if refused >= cost.images:  # every variant refused: a content-policy outcome, not billed
            self.ledger.release(held)
            return 0
        charged = cost.settled("x-venice-enhanced-prompt" in reply.headers, refused)
        if not self.ledger.settle(held, charged, cost.delivered(refused), name):
            log.warning(
                "%s: the hold for this request was gone (released by another process?); "
                "charged %s anyway",
                name,
                usd(charged),
            )
        return charged

    def _log(
        self, name: str, out: Outgoing, cost: Price, charged: int, status: int, started: float
    ) -> None:
        ms = (time.perf_counter() - started) * 1000
        line = (
            f"{name} {out.route} model={cost.model} cost={usd(charged)} status={status} {ms:.0f}ms"
        )
        if self.config.policy.log_prompts and out.prompt:
            line += f" prompt={out.prompt[:200]!r}"
        log.info("%s", _printable(line))

    async def _free(self, request: Request, route: str, student: Student) -> Response:
        if route == "/api_keys/rate_limits":
            return JSONResponse(_rate_limits(self._left(student)))
        try:
            reply = await self._send("GET", route, request.url.query)
        except httpx.HTTPError as exc:
            raise Refusal(502, _unreachable(exc)) from None
        content = reply.content
        models = self.config.policy.models
        kind = request.query_params.get("type", "image")
        if route == "/models" and reply.status_code == 200 and models and kind == "image":
            body = reply.json()
            rows = body.get("data") if isinstance(body, dict) else None
            if isinstance(rows, list):
                body["data"] = [r for r in rows if isinstance(r, dict) and r.get("id") in models]
                content = json.dumps(body).encode()
        return Response(content, reply.status_code, headers=_passed_headers(reply.headers))


def _printable(text: str) -> str:
    """A log line with every control character escaped (``\\n``, ``\\x1b``, ``\\u2028``): what a
    student sends (a model id, a prompt) must not start a forged line of its own."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _refused(reply: httpx.Response) -> int:
    """Variants the content policy left out of a generate answer (not billed by the service)."""
    if b'"content_policy_violation_count"' not in reply.content:
        return 0
    try:
        body = json.loads(reply.content)
    except ValueError:
        return 0
    return refused_count(body) if isinstance(body, dict) else 0


def _dollars(micro: int) -> str:
    """A header's dollar amount as the service writes it: ``0.99``, ``1``."""
    return f"{to_usd(micro):.6f}".rstrip("0").rstrip(".")


def _unreachable(exc: Exception) -> str:
    return f"the classroom gateway could not reach the image service ({type(exc).__name__})"


def _rate_limits(left: int) -> dict[str, Any]:
    """``GET /api_keys/rate_limits`` as a student may see it: what they can spend, not the key's."""
    return {
        "data": {
            "accessPermitted": True,
            "apiTier": {"id": "classroom", "isCharged": True},
            "balances": {"USD": to_usd(max(0, left))},
            "keyExpiration": None,
            "nextEpochBegins": None,
            "rateLimits": [],
        }
    }


def _passed_headers(upstream: httpx.Headers) -> dict[str, str]:
    """The answer's own headers a student needs; the key's balance and rate limits stay here."""
    out = {}
    for name, value in upstream.items():
        lower = name.lower()
        if (
            lower == "content-type"
            or lower == "retry-after"
            or (lower.startswith("x-venice-") and lower not in DROPPED_HEADERS)
        ):
            out[lower] = value
    return out


def _error(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> JSONResponse:
    """The gateway's own answer: the live error shape, marked so venice_nb shows only its line."""
    marked = {**(headers or {}), CLASSROOM_REFUSAL: "true"}
    return JSONResponse(body or {"error": message}, status, headers=marked)


def create_app(config: GatewayConfig, ledger: Ledger) -> Starlette:
    """The ASGI app for ``config`` on ``ledger`` (``app.state.gateway`` is the Gateway)."""
    gateway = Gateway(config, ledger)
    app = gateway.app()
    app.state.gateway = gateway
    return app
