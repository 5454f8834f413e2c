"""Proxies from the environment and a dead server, over real HTTP on 127.0.0.1.

The "proxy" is a FaultServer: it records every request that reaches it, so an empty record proves
that nothing went through it, and its scripted answers play a proxy's failures. The dead server is
a port that was bound and closed (connection refused at once).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from fault_server import FaultServer, Reply

from venice_nb import errors as E
from venice_nb.client import VeniceClient
from venice_nb.network import CircuitBreaker, in_round, is_loopback, proxy_for
from venice_nb.operations.generate import GenerateRequest
from venice_nb.ratelimit import RetryPolicy
from venice_nb.server import LocalServer
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings
from venice_nb.sweep import Job, run_sweep

KEY = "sk-network-test-4d2c9e"
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.fixture
def proxy() -> Iterator[FaultServer]:
    with FaultServer() as recorder:
        recorder.default = Reply(
            502, b"<html><title>502 Bad Gateway</title></html>", content_type="text/html"
        )
        yield recorder


def proxy_url(recorder: FaultServer, credentials: str = "") -> str:
    return recorder.base_url.replace("http://", f"http://{credentials}").removesuffix("/api/v1")


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fox(seed: int) -> GenerateRequest:
    return GenerateRequest(model="z-image-turbo", prompt="a fox", seed=seed, width=64, height=64)


# ---- proxies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_loopback_never_goes_through_the_environment_proxy(clean_env, proxy, variable):
    """Set the way university machines do (NO_PROXY=localhost only): the embedded preview and a
    LocalServer on 127.0.0.1 are reached directly, and the proxy sees nothing."""
    clean_env.setenv(variable, proxy_url(proxy))
    clean_env.setenv("NO_PROXY", "localhost")
    session = VeniceSession(Settings(backend="local", cache_enabled=False, max_retries=0))
    assert session.generate(fox(1)).images
    with LocalServer() as server, VeniceClient(KEY, base_url=server.base_url) as client:
        assert client.generate(fox(2)).images
        assert server.generate_count == 1
    assert proxy.count == 0, [s.path for s in proxy.seen]


def test_a_failure_through_a_proxy_names_it_and_its_variable_without_credentials(clean_env, proxy):
    clean_env.setenv("HTTP_PROXY", proxy_url(proxy, "alice:pr0xy-s3cret@"))
    policy = RetryPolicy(max_retries=0)
    client = VeniceClient(KEY, base_url="http://venice.test/api/v1", retry=policy)
    with client, pytest.raises(E.VeniceError) as info:
        client.models()
    message = info.value.one_line()
    assert f"through the proxy {proxy_url(proxy)} (set by $HTTP_PROXY)" in message, message
    assert "pr0xy-s3cret" not in message and "alice" not in message
    assert "NO_PROXY" in message
    [seen] = proxy.seen  # it really went through the proxy
    assert seen.path == "http://venice.test/api/v1/models?type=image"


def test_a_dead_proxy_is_named_too(clean_env):
    port = dead_port()
    clean_env.setenv("https_proxy", f"http://127.0.0.1:{port}")
    policy = RetryPolicy(max_retries=0)
    client = VeniceClient(KEY, base_url="https://venice.test/api/v1", retry=policy)
    with client, pytest.raises(E.APIConnectionError) as info:
        client.models()
    message = info.value.one_line()
    assert f"through the proxy http://127.0.0.1:{port} (set by $https_proxy)" in message, message


def test_which_urls_take_a_proxy(clean_env):
    clean_env.setenv("HTTPS_PROXY", "http://u:p@proxy.example:3128")
    clean_env.setenv("NO_PROXY", "internal.example")
    assert proxy_for("https://api.venice.ai/api/v1") is not None
    assert proxy_for("https://api.venice.ai/api/v1").url == "http://proxy.example:3128"
    assert proxy_for("https://internal.example/api/v1") is None
    assert proxy_for("http://127.0.0.1:8787/api/v1") is None
    assert proxy_for("http://plain.example/api/v1") is None  # only HTTPS_PROXY is set
    for url in (
        "http://localhost:1/x",
        "http://127.8.0.1/",
        "http://[::1]:80/",
        "http://a.localhost/",
    ):
        assert is_loopback(url), url
    assert not is_loopback("http://10.0.0.1/") and not is_loopback("https://api.venice.ai/")


# ---- a dead server -----------------------------------------------------------------------------


def dead_sweep(size: int) -> tuple[float, list[str]]:
    """A ``size``-cell sweep, with the default retry policy, against a server that answered the
    catalogue and then died (its port now refuses connections)."""
    server = LocalServer().start()
    session = VeniceSession(
        Settings(backend="venice", base_url=server.base_url, cache_enabled=False)
    )
    session.login(KEY)
    session.client().models()
    server.stop()
    jobs = [Job(fox(seed), {"seed": seed}) for seed in range(1, size + 1)]
    started = time.perf_counter()
    grid = run_sweep(session, jobs, cols="seed")
    took = time.perf_counter() - started
    assert not grid.results
    print(f"dead server: {size}-cell sweep failed in {took:.2f} s")
    return took, [cell.error.one_line() for cell in grid.errors]


@pytest.mark.parametrize("size", [32, 256])
def test_a_dead_server_fails_a_sweep_in_bounded_time_whatever_its_size(size):
    """Without the breaker every cell retried in turn (a 32-cell sweep took ~65 s): now only the
    first workers' own tries reach the dead port; every other cell is failed without sending."""
    _took, errors = dead_sweep(size)  # the time is benchmarks/bench_deadserver.py's business
    assert len(errors) == size
    stopped = [e for e in errors if "stops sending to a server that is down" in e]
    assert len(stopped) >= size - 8, errors[:10]  # at most the first workers' own tries
    assert all("connection refused" in e for e in errors), errors[:3]


def test_the_breaker_opens_after_a_few_failures_and_lets_one_try_through_later():
    breaker = CircuitBreaker(threshold=3, cooldown_s=0.2)
    for _ in range(2):
        breaker.failed("connection refused")
        assert breaker.blocked() is None
    breaker.failed("connection refused")
    assert "last 3 connections failed (connection refused)" in (breaker.blocked() or "")
    time.sleep(0.25)
    assert breaker.blocked() is None  # half-open: one try
    breaker.failed("connection refused")
    assert breaker.blocked() is not None  # that one failed: open again at once
    time.sleep(0.25)
    assert breaker.blocked() is None
    breaker.succeeded()
    breaker.failed("connection refused")
    assert breaker.blocked() is None  # an answer reset the count


def test_a_server_that_comes_back_is_used_again(local_server):
    """Within the round that found the server down (a sweep) calls fail at once until the
    cool-down ends; a call of a new round (a new cell or Python call) tries at once."""
    with VeniceClient(KEY, base_url=local_server.base_url) as client:
        client.breaker.cooldown_s = 0.2
        sweep = object()
        for _ in range(3):
            client.breaker.failed("connection refused", sweep)
        with in_round(sweep), pytest.raises(E.APIConnectionError, match="stops sending"):
            client.models()
        assert local_server.request_count == 0
        time.sleep(0.25)
        with in_round(sweep):
            assert client.models().default_id
        for _ in range(3):
            client.breaker.failed("connection refused", sweep)
        assert client.models().default_id  # a lone call is a round of its own
