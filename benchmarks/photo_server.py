"""A pass-through proxy in front of the local server that makes its PNGs photograph-sized.

The local preview renders smooth procedural scenes, and PNG squeezes those to ~0.07 bytes per
pixel, while a photograph's PNG is ~1.5-2 bytes per pixel. For a memory benchmark measured against
the raw image bytes that difference decides the outcome, so this proxy forwards every request to a
``LocalServer`` unchanged and, in successful ``/image/generate`` JSON answers, replaces each PNG by
the same picture with photographic grain (Gaussian noise, sigma 6 per channel) at the same size.
Headers, ids, timing and every other field come from the real server.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

HOP_HEADERS = {"content-length", "content-encoding", "transfer-encoding", "connection", "date"}
GRAIN_SIGMA = 6.0


@lru_cache(maxsize=8)
def grainy_png(png: bytes, size: tuple[int, int] | None = None) -> bytes:
    """``png`` with photographic grain: same picture, realistic PNG weight; at ``size`` if given
    (e.g. 3840x2160, the 4K frame the issue asks about, from the server's 4096x2304)."""
    from PIL import Image, ImageChops

    with Image.open(io.BytesIO(png)) as im:
        base = im.convert("RGB")
    if size is not None and base.size != size:
        base = base.resize(size, Image.Resampling.BILINEAR)
    w, h = base.size
    noise = Image.merge("RGB", [Image.effect_noise((w, h), GRAIN_SIGMA) for _ in range(3)])
    grainy = ImageChops.add(base, noise, scale=1.0, offset=-128)
    out = io.BytesIO()
    grainy.save(out, "PNG", compress_level=6)
    return out.getvalue()


class PhotoProxy:
    """``with PhotoProxy(upstream_base_url) as proxy: proxy.base_url`` -> same API, heavier PNGs."""

    def __init__(
        self, upstream: str, size: tuple[int, int] | None = None, bandwidth: float = 0.0
    ) -> None:
        """``bandwidth``: bytes per second the answers are sent at (0: as fast as loopback)."""
        self.upstream = upstream.rstrip("/")
        self.size = size
        self.bandwidth = bandwidth
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.raw_bytes_served = 0

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/api/v1"

    def __enter__(self) -> PhotoProxy:
        proxy = self
        session = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = self.path.split("/api/v1", 1)[-1]
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Accept-Encoding"] = "identity"
                up = session.request(
                    method, proxy.upstream + path, data=body, headers=headers, timeout=120
                )
                payload = up.content
                if method == "POST" and path.startswith("/image/generate") and up.ok:
                    payload = proxy._heavier(payload)
                self.send_response(up.status_code)
                for k, v in up.headers.items():
                    if k.lower() not in HOP_HEADERS:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                proxy._send(self.wfile, payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _send(self, out: Any, payload: bytes) -> None:
        """All of ``payload``, paced at ``bandwidth`` when set (a link, not loopback)."""
        if not self.bandwidth:
            out.write(payload)
            return
        piece = 1 << 18
        started = time.perf_counter()
        for at in range(0, len(payload), piece):  # bounded: one pass over the payload
            out.write(payload[at : at + piece])
            ahead = (at + piece) / self.bandwidth - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)

    def _heavier(self, payload: bytes) -> bytes:
        try:
            obj = json.loads(payload)
        except ValueError:
            return payload  # binary answers pass through
        images = []
        for b64 in obj.get("images", []):
            data = base64.b64decode(b64)
            if data.startswith(b"\x89PNG"):
                data = grainy_png(data, self.size)
            self.raw_bytes_served += len(data)
            images.append(base64.b64encode(data).decode("ascii"))
        obj["images"] = images
        return json.dumps(obj).encode()
