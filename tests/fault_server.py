"""A small scripted HTTP server on 127.0.0.1 for faults the local preview server cannot produce.

Each request takes the next queued ``Reply`` (or the default one) and gets exactly that: any status,
headers and body, a body dripped byte by byte, a chunked body with no Content-Length, an endless
stream, a gzip bomb, a stall before the status line, a dropped connection. It records each request
(method, path, headers, body) so a test can check what the client sent. Every sleep is bounded and
ends when the server stops.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_SLEEP = 20.0


@dataclass
class Reply:
    status: int = 200
    body: bytes | Any = b""  # bytes, or any JSON-serialisable value
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    chunked: bool = False  # Transfer-Encoding: chunked, no Content-Length
    content_length: int | None = None  # announce this instead of len(body)
    drip_s: float = 0.0  # pause between pieces of the body
    piece: int = 1  # bytes per dripped piece
    stall_s: float = 0.0  # wait before sending anything
    endless: bool = False  # chunked stream of zeros that never ends (until the client goes)
    gzip_bomb: int = 0  # send a gzip body that inflates to this many bytes
    drop: bool = False  # close the connection without an answer

    def __post_init__(self) -> None:
        if self.gzip_bomb:  # compressed up front, in pieces: the server never holds the bomb
            packer = zlib.compressobj(9, zlib.DEFLATED, 31)
            piece = b"\0" * (1 << 20)
            parts = [packer.compress(piece[: min(len(piece), self.gzip_bomb - done)])
                     for done in range(0, self.gzip_bomb, len(piece))]  # fmt: skip
            self.body = b"".join(parts) + packer.flush()
            self.headers = {**self.headers, "Content-Encoding": "gzip"}

    def payload(self) -> bytes:
        if isinstance(self.body, (bytes, bytearray)):
            return bytes(self.body)
        return json.dumps(self.body).encode()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float


class FaultServer:
    def __init__(self) -> None:
        self.queue: deque[Reply] = deque()
        self.default = Reply(404, {"error": "no reply queued"})
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer._handle(self)

            do_POST = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hangs up mid-answer is what these tests do on purpose

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ---- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/api/v1"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.queue.extend(replies)

    @property
    def count(self) -> int:
        return len(self.seen)

    # ---- serving ---------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        self.stopping.wait(min(seconds, MAX_SLEEP))

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self._lock:
            self.seen.append(Seen(h.command, h.path, dict(h.headers), body, time.time()))
            reply = self.queue.popleft() if self.queue else self.default
        try:
            self._answer(h, reply)
        except OSError:
            h.close_connection = True  # the client went away: fine

    def _answer(self, h: BaseHTTPRequestHandler, r: Reply) -> None:
        if r.stall_s:
            self._sleep(r.stall_s)
        if r.drop:
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        data = r.payload()
        headers = dict(r.headers)
        h.send_response(r.status)
        h.send_header("Content-Type", r.content_type)
        chunked = r.chunked or r.endless
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(r.content_length or len(data)))
        for name, value in headers.items():
            h.send_header(name, value)
        if r.content_length is not None and r.content_length != len(data):
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        h.wfile.flush()
        if r.endless:
            self._write_chunks(h, self._zeros())
        elif chunked:
            self._write_chunks(h, self._pieces(data, r))
        else:
            for piece in self._pieces(data, r):
                h.wfile.write(piece)
                h.wfile.flush()
        if r.content_length is not None and r.content_length != len(data):
            h.connection.shutdown(socket.SHUT_RDWR)

    def _pieces(self, data: bytes, r: Reply) -> Iterator[bytes]:
        if not r.drip_s:
            yield data
            return
        for i in range(0, len(data), r.piece):
            if self.stopping.is_set():
                return
            yield data[i : i + r.piece]
            self._sleep(r.drip_s)

    def _zeros(self) -> Iterator[bytes]:
        chunk = b"\0" * 65536
        for _ in range(64 * 1024):  # at most 4 GB: bounded even if the client never stops
            if self.stopping.is_set():
                return
            yield chunk

    @staticmethod
    def _write_chunks(h: BaseHTTPRequestHandler, chunks: Iterator[bytes]) -> None:
        for chunk in chunks:
            if chunk:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                h.wfile.flush()
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
