"""HTTP layer and routes of the local preview server (stdlib ``http.server``, HTTP/1.1 keep-alive)."""

from __future__ import annotations

import base64
import contextlib
import gzip
import secrets
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import account, catalogue, faults, gate, style_refs, toolbox, validation
from .render import RenderSpec, render, renderable
from .responses import ApiError, Response, json_response
from .state import ReceivedRequest, ServerState

PREFIX = "/api/v1"
VERSION = "20260821.193530"
MAX_BODY = 35 * 1024 * 1024
# A form's limit is per file (25 MB each, checked by the toolbox); the whole form may carry as many
# files as a multi-edit takes, so it is bounded by that, not by the 35 MB JSON cap.
MAX_FORM_BODY = 7 * 25 * 1024 * 1024
ENHANCE_PROMPT_USD = 0.04  # added once per request when a rewrite was applied
MODEL_TYPES = (
    "asr",
    "embedding",
    "image",
    "music",
    "text",
    "tts",
    "upscale",
    "inpaint",
    "video",
    "all",
    "code",
    "decision",
)
GENERATE_ROUTES = {"/image/generate": "venice", "/images/generations": "openai"}
GET_ROUTES = ("/image/styles", "/models", "/models/traits", *account.ROUTES)


class VeniceHTTPServer(ThreadingHTTPServer):
    """Threaded server that remembers its open connections so ``stop()`` can end keep-alives."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: ServerState) -> None:
        self.state = state
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, Handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "venice-nb-local-preview"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    # Headers and body go out as separate writes; with Nagle on, every keep-alive answer then
    # waits ~40 ms for the client's delayed ACK (a 256 px image took 48 ms instead of 5).
    disable_nagle_algorithm = True
    server: VeniceHTTPServer

    # --- plumbing ------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def version_string(self) -> str:
        return self.server_version

    @property
    def state(self) -> ServerState:
        return self.server.state

    def log_message(self, format: str, *args: Any) -> None:
        """Silent in-process; the CLI turns on one short line per request (never headers)."""
        if self.state.log_requests:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # logged once, with timing, in _dispatch

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own answers (501 for a method nobody serves, 400 for a bad
        request line, 414, 431) in the service's JSON shape instead of its HTML page."""
        text = message or self.responses.get(code, ("Error",))[0]
        if code == 501:
            text = f"Method {self.command} not allowed"
            code = 405  # what the service answers for a method a route does not take
        self.close_connection = True
        with contextlib.suppress(OSError):
            self._send(json_response(code, {"error": text}, {"Allow": "GET, HEAD, POST"}))

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "Invalid Content-Length header") from None
        if length > self._max_body():
            self.close_connection = True
            raise ApiError(413, {"code": "PAYLOAD_TOO_LARGE", "error": "Request body too large"})
        return self.rfile.read(length) if length > 0 else b""

    def _max_body(self) -> int:
        form = (self.headers.get("Content-Type") or "").lower().startswith("multipart/form-data")
        return MAX_FORM_BODY if form else MAX_BODY

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline(16)
            if len(data) > self._max_body():
                self.close_connection = True
                raise ApiError(
                    413, {"code": "PAYLOAD_TOO_LARGE", "error": "Request body too large"}
                )

    def _dispatch(self, method: str) -> None:
        started = time.perf_counter()
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = dict(urllib.parse.parse_qsl(url.query))
        status: int | str = "-"
        try:
            try:
                raw = self._read_body() if method not in ("GET", "HEAD") else b""
            except ApiError as err:
                raw = b""
                resp = err.response()
            else:
                resp = self._route(method, path, query, raw)
            status = resp.status if not resp.drop else "dropped"
            self._send(resp, head_only=method == "HEAD")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
            status = "client-gone"
        except Exception:  # a bug must not kill the connection thread silently
            self.close_connection = True
            if self.state.log_requests:
                traceback.print_exc()
            with contextlib.suppress(OSError):
                self._send(json_response(500, {"error": "Internal server error"}))
        if self.state.log_requests:
            ms = (time.perf_counter() - started) * 1000
            sys.stderr.write(f"{method} {url.path} -> {status} ({ms:.0f} ms)\n")

    def _send(self, resp: Response, head_only: bool = False) -> None:
        if resp.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = resp.body
        if (
            resp.compressible
            and isinstance(body, bytes)
            and len(body) > 1024
            and "gzip" in (self.headers.get("Accept-Encoding") or "").lower()
        ):
            body = gzip.compress(body, compresslevel=1, mtime=0)
            resp.headers["Content-Encoding"] = "gzip"
        length = resp.content_length if resp.content_length is not None else len(body)  # type: ignore[arg-type]
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(length))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if resp.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if head_only:
            return
        if isinstance(body, bytes):
            self._write(body, resp.trickle_seconds)
        else:
            self._stream(body)

    def _write(self, body: bytes, trickle: float) -> None:
        if trickle <= 0 or len(body) < 2:
            self.wfile.write(body)
            return
        pieces = min(20, len(body))
        step = -(-len(body) // pieces)
        for i in range(0, len(body), step):
            self.wfile.write(body[i : i + step])
            self.wfile.flush()
            if i + step < len(body):
                self.state.sleep(trickle / pieces)
            if self.state.stopping.is_set():
                self.close_connection = True
                return

    def _stream(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            if self.state.stopping.is_set():
                self.close_connection = True
                return
            self.wfile.write(chunk)

    # --- routing -------------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Response:
        sub = path[len(PREFIX) :] if path.startswith(PREFIX + "/") else None
        generate = sub in GENERATE_ROUTES and method == "POST"
        tool = (
            toolbox.read(sub, raw, self.headers.get("Content-Type"))
            if (sub in toolbox.ROUTES and method == "POST")
            else None
        )
        self.state.record(
            ReceivedRequest(
                method=method,
                path=path,
                query=query,
                body=tool.recorded if tool is not None else _maybe_json(raw),
                content_type=self.headers.get("Content-Type"),
                has_auth=bool(self.headers.get("Authorization")),
            ),
            generate or tool is not None,  # toolbox calls are paid image requests too
        )
        base = {
            "CF-RAY": f"{secrets.token_hex(8)}-LCL",
            "x-venice-version": VERSION,
            "x-venice-local-preview": "true",
        }
        try:
            if generate:
                assert sub is not None
                resp = self._generate(GENERATE_ROUTES[sub], raw)
            elif tool is not None:
                resp = toolbox.handle(
                    tool,
                    self.state,
                    self.headers.get("Authorization"),
                    self.headers.get("Content-Type"),
                )
            elif sub in GENERATE_ROUTES or sub in GET_ROUTES or sub in toolbox.ROUTES:
                allowed = "GET, HEAD" if sub in GET_ROUTES else "POST"
                if method in ("GET", "HEAD") and sub in account.ROUTES:
                    resp = account.handle(sub, self.state, self.headers.get("Authorization"))
                elif method in ("GET", "HEAD") and sub in GET_ROUTES:
                    resp = self._get(sub, query)
                else:
                    raise ApiError(
                        405, f"Method {method} not allowed on {path}", {"Allow": allowed}
                    )
            else:
                raise ApiError(404, f"Not found: {path}")
        except ApiError as err:
            resp = err.response()
        resp.headers = {**base, **resp.headers}
        return resp

    def _get(self, sub: str, query: dict[str, str]) -> Response:
        if sub == "/image/styles":
            styles = catalogue.styles()
            doc: Any = (
                styles if self.state.styles_shape == "list" else {"object": "list", "data": styles}
            )
            return json_response(200, doc)
        kind = query.get("type", "text")
        if kind not in MODEL_TYPES:
            raise validation.invalid(
                [
                    validation.zod_issue(
                        "invalid_enum_value",
                        ["type"],
                        "Invalid enum value. Expected "
                        + " | ".join(f"'{t}'" for t in MODEL_TYPES)
                        + f", received '{kind}'",
                        received=kind,
                        options=list(MODEL_TYPES),
                    )
                ]
            )
        served = kind if kind in catalogue.MODEL_KINDS or kind == "all" else None
        edge = self.state.edge_models
        if sub == "/models/traits":
            traits: dict[str, str] = {}
            for m in catalogue.models(served, edge=edge) if served else []:
                for t in m.spec.get("traits", []):
                    traits.setdefault(t, m.id)
            return json_response(200, {"object": "list", "type": kind, "data": traits})
        rows = catalogue.model_rows(served, edge=edge) if served else []
        return json_response(200, {"object": "list", "type": kind, "data": rows})

    # --- generation ----------------------------------------------------------------------------

    def _generate(self, route: str, raw: bytes) -> Response:
        t0 = time.perf_counter()
        st = self.state
        fault = st.faults.pop()
        body = _maybe_json(raw)
        binary = isinstance(body, dict) and body.get("return_binary") is True
        path = "/images/generations" if route == "openai" else "/image/generate"
        admission = None
        try:
            # The gateway's checks come first, when the request arrives: the rate limit is
            # counted then (a 429 comes back at once, its reset measured from the arrival).
            admission = gate.admit(
                st,
                authorization=self.headers.get("Authorization"),
                content_type=self.headers.get("Content-Type"),
                body=body,
                resource_url=f"https://api.venice.ai{PREFIX}{path}",
            )
            if fault is not None and fault.phase == "delay":
                st.sleep(faults.delay_seconds(fault))
            if fault is not None and fault.phase == "pre":
                limit = st.rate.rpm or 1000
                return faults.pre_response(
                    fault, binary=binary, limit=limit, reset_unit=st.rate.reset_unit
                )
            queued = time.perf_counter()
            resp, payload, first = self._generate_ok(route, raw, t0, queued, admission)
        except ApiError as err:
            gate.charge_failure(st, admission, err)
            raise
        if fault is not None and resp.status == 200:
            resp = faults.post_response(fault, resp, payload, first, route == "openai")
        return resp

    def _generate_ok(
        self, route: str, raw: bytes, t0: float, queued: float, admission: gate.Admission
    ) -> tuple[Response, dict[str, Any] | None, bytes | None]:
        st = self.state
        body = validation.parse_json(raw)
        p = (
            validation.validate_openai(body, pro=st.pro, edge=st.edge_models)
            if route == "openai"
            else validation.validate_generate(body, pro=st.pro, edge=st.edge_models)
        )
        if route != "openai":
            style_refs.check(body.get("style_references") or [])
        mod = validation.moderation(p)
        enhanced = validation.enhanced_prompt(p)
        usd, diem = p.model.price(p.resolution, p.quality)
        unit = diem if st.ledger.currency == "diem" else usd
        cost = unit * p.variants + (ENHANCE_PROMPT_USD if enhanced else 0.0)
        balance_usd, balance_diem = st.ledger.snapshot()  # the headers tell the balance before
        if not st.ledger.reserve(cost):
            raise ApiError(402, "Insufficient USD or Diem balance to complete request")
        inference = time.perf_counter()
        try:
            images = [render(self._spec(p, i, mod, enhanced)) for i in range(p.variants)]
            # The service's latency is its render: ours counts toward it, so four requests at
            # once take the latency, not the latency plus four renders queued on one core.
            st.sleep(st.latency - (time.perf_counter() - inference))
        except Exception:
            st.ledger.refund(cost)
            raise
        refused = 0 if route == "openai" or p.return_binary else validation.refused_variants(p)
        if mod.blocked:
            st.ledger.refund(cost)  # content violations are not charged
        elif refused:
            st.ledger.refund(unit * refused)  # nor are the variants the provider refused
        rendered = time.perf_counter()
        headers = {
            "x-venice-is-blurred": str(mod.blurred).lower(),
            "x-venice-is-content-violation": str(mod.violation or refused == p.variants).lower(),
            "x-venice-is-adult-model-content-violation": str(mod.adult_violation).lower(),
            **admission.rate_headers,
            "x-venice-balance-usd": balance_usd,
            "x-venice-balance-diem": balance_diem,
            **_deprecation_headers(p.model, p.remapped_from),
        }
        if enhanced is not None:
            headers["x-venice-enhanced-prompt"] = urllib.parse.quote(renderable(enhanced))
        fmt = "png" if mod.blocked and p.return_binary else p.format
        if p.return_binary:
            return Response(200, images[0], f"image/{fmt}", headers), None, images[0]
        b64 = [base64.b64encode(img).decode("ascii") for img in images]
        if route == "openai":
            item = (
                {"url": f"data:image/{fmt};base64,{b64[0]}"}
                if p.response_format == "url"
                else {"b64_json": b64[0]}
            )
            payload: dict[str, Any] = {"created": int(time.time()), "data": [item]}
        else:
            payload = {
                "id": f"generate-image-{uuid.uuid4().hex}",
                "images": b64[refused:],  # which variant goes is not documented: the first here
                "timing": timing(st.timing, t0, queued, inference, rendered),
                "request": {"success": True, "data": p.echo},
            }
            if refused:
                payload["content_policy_violation_count"] = refused
        return json_response(200, payload, headers, compressible=True), payload, images[0]

    @staticmethod
    def _spec(
        p: validation.GenerateParams, i: int, mod: validation.Moderation, enhanced: str | None
    ) -> RenderSpec:
        return RenderSpec(
            prompt=renderable(enhanced or p.prompt),
            seed=p.render_seed(i),
            width=p.width,
            height=p.height,
            format="png" if mod.blocked and p.return_binary else p.format,
            model=p.model.id,
            cfg_scale=p.cfg_scale,
            negative_prompt=renderable(p.negative_prompt) if p.negative_prompt else None,
            style_preset=p.style_preset,
            blurred=mod.blurred,
            violation=mod.blocked,
            watermark=not p.hide_watermark and p.model.spec.get("privacy") == "private",
            embed_exif=p.embed_exif_metadata,
            seed_ignored=i == 0 and p.model.ignores_seed,
        )


def timing(
    shape: str, t0: float, queued: float, inference: float, rendered: float
) -> dict[str, int]:
    """The ``timing`` object in the live cumulative shape (total = queue + preprocessing, and
    preprocessing contains inference) or the docs' additive one (total = the sum of all three)."""
    queue = _ms(queued - t0)
    infer = _ms(rendered - inference)
    if shape == "additive":
        prep = _ms(inference - queued)
        total = queue + prep + infer
    else:
        prep = _ms(rendered - queued)
        total = queue + prep
    return {
        "inferenceDuration": infer,
        "inferencePreprocessingTime": prep,
        "inferenceQueueTime": queue,
        "total": total,
    }


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _maybe_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return validation.parse_json(raw)
    except ApiError:
        return None


def _deprecation_headers(
    model: catalogue.Model, remapped_from: catalogue.Retired | None = None
) -> dict[str, str]:
    if remapped_from is not None:  # a retired id the service ran on its replacement
        return {
            "x-venice-model-deprecation-warning": (
                f"The model {remapped_from.id} was retired on {remapped_from.removed_at[:10]}; "
                f"this request was served by {model.id}. Please migrate to {model.id}."
            ),
            "x-venice-model-deprecation-date": remapped_from.removed_at,
            "x-venice-deprecated": "true",
            "x-venice-deprecated-replacement": model.id,
        }
    dep = model.deprecation
    if not dep:
        return {}
    headers = {
        "x-venice-model-deprecation-warning": (
            f"The model {model.id} is deprecated and will be removed on {dep['date']}."
            + (
                f" Please migrate to {dep['replacementModelId']}."
                if dep.get("replacementModelId")
                else ""
            )
        ),
        "x-venice-model-deprecation-date": dep["date"],
        "x-venice-deprecated": "true",
    }
    if dep.get("replacementModelId"):
        headers["x-venice-deprecated-replacement"] = dep["replacementModelId"]
    return headers
