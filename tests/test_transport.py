"""transport.py: one call across the wire against a real loopback server (``fault_server``):
what is sent, what is retried and what is not, and what a refusal says (no credentials)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fault_server import FaultServer, Reply

from venice_nb.errors import (
    APIConnectionError,
    ConfigurationError,
    InvalidResponseError,
    VeniceError,
)
from venice_nb.retry import RetryPolicy
from venice_nb.transport import Transport

QUICK = RetryPolicy(max_retries=2, backoff_factor=0.01, backoff_max_s=0.05, jitter_s=0.0)


@pytest.fixture
def fs() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def test_a_2xx_answer_comes_back_whole_and_names_the_client(fs: FaultServer) -> None:
    fs.push(Reply(200, {"ok": True}))
    transport = Transport(fs.base_url, retry=QUICK)
    reply = transport.send("POST", "/image/generate", json_body={"prompt": "a kite"})
    assert (reply.status, bytes(reply.body), reply.retries) == (200, b'{"ok": true}', 0)
    (seen,) = fs.seen
    assert seen.path == "/api/v1/image/generate" and seen.body == b'{"prompt": "a kite"}'
    assert seen.headers["User-Agent"].startswith("venice-nb/")
    transport.close()


def test_a_503_is_retried_and_each_retry_is_announced(fs: FaultServer) -> None:
    fs.push(Reply(503, {"error": "busy"}, headers={"Retry-After": "0"}), Reply(200, {"ok": 1}))
    events = []
    reply = Transport(fs.base_url, retry=QUICK).send("GET", "/models", on_retry=events.append)
    assert reply.status == 200 and reply.retries == 1 and fs.count == 2
    assert [(e.attempt, e.status) for e in events] == [(1, 503)]


def test_a_400_is_not_retried(fs: FaultServer) -> None:
    fs.push(Reply(400, {"error": "prompt is required"}))
    with pytest.raises(VeniceError, match="prompt is required"):
        Transport(fs.base_url, retry=QUICK).send("POST", "/image/generate", json_body={})
    assert fs.count == 1


def test_a_web_page_is_said_as_a_base_url_problem(fs: FaultServer) -> None:
    fs.push(Reply(200, b"<!DOCTYPE html><html>welcome</html>", content_type="text/html"))
    with pytest.raises(InvalidResponseError, match="web page") as refused:
        Transport(fs.base_url, retry=QUICK).send("GET", "/models")
    assert "/api/v1" in refused.value.one_line()


@pytest.mark.parametrize("bad", [0, -1, "10"])
def test_timeouts_must_be_positive_numbers(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="connect_timeout must be a positive number"):
        Transport("http://127.0.0.1:9/api/v1", connect_timeout=bad)  # type: ignore[arg-type]


def test_a_refused_connection_names_the_host_without_its_credentials() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = Transport(
        f"http://alice:s3cret-pw@127.0.0.1:{port}/api/v1", retry=RetryPolicy(max_retries=0)
    )
    with pytest.raises(APIConnectionError) as refused:
        transport.send("GET", "/models")
    line = refused.value.one_line()
    assert "s3cret-pw" not in line and "s3cret-pw" not in repr(refused.value)
    assert refused.value.__cause__ is None and refused.value.__context__ is None
