"""A server that comes back: stopped, then restarted on the same port, over real HTTP.

The breaker protects one sweep from hammering a dead server; a new cell, a new panel click or a
new Python call always tries once (half-open), and a success closes the breaker again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import live_session

from venice_nb import errors as E
from venice_nb.network import CircuitBreaker, in_round
from venice_nb.operations.generate import GenerateRequest
from venice_nb.server import LocalServer
from venice_nb.session import VeniceSession
from venice_nb.sweep import Job, run_sweep

KEY = "sk-comeback-test-81c2d0"


def fox(seed: int) -> GenerateRequest:
    return GenerateRequest(model="z-image-turbo", prompt="a fox", seed=seed, width=256, height=256)


class Restartable:
    """A LocalServer that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.server = LocalServer().start()
        self.port = self.server.port
        self.base_url = self.server.base_url

    def down(self) -> None:
        self.server.stop()

    def up(self) -> None:
        self.server = LocalServer(port=self.port).start()
        assert self.server.base_url == self.base_url

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def restartable() -> Iterator[Restartable]:
    srv = Restartable()
    try:
        yield srv
    finally:
        srv.stop()


def down_session(srv: Restartable, tmp_path: Path) -> VeniceSession:
    """A session whose server answered once, then went down and tripped the breaker."""
    session = live_session(srv.base_url, tmp_path / "saved", KEY, max_retries=2)
    session.client().models()
    srv.down()
    grid = run_sweep(session, [Job(fox(s), {"seed": s}) for s in range(1, 9)], cols="seed")
    assert not grid.results
    errors = [cell.error.one_line() for cell in grid.errors]
    assert any("stops sending to a server that is down" in e for e in errors), errors
    return session


@pytest.mark.slow
def test_a_python_call_after_the_server_is_back_tries_once_and_succeeds(restartable, tmp_path):
    session = down_session(restartable, tmp_path)
    restartable.up()
    started = time.monotonic()
    result = session.generate(fox(99))  # well inside the 5 s cool-down
    assert result.images and time.monotonic() - started < 4
    assert session.client().breaker.blocked(object()) is None  # the success closed it


@pytest.mark.slow
def test_a_new_sweep_after_the_server_is_back_runs_every_cell(restartable, tmp_path):
    session = down_session(restartable, tmp_path)
    restartable.up()
    grid = run_sweep(session, [Job(fox(s), {"seed": s}) for s in range(20, 26)], cols="seed")
    assert len(grid.results) == 6 and not grid.errors


@pytest.mark.slow
def test_a_lone_call_while_still_down_tries_once_then_fails_as_down(restartable, tmp_path):
    session = down_session(restartable, tmp_path)
    with pytest.raises(E.APIConnectionError) as info:
        session.generate(fox(7))
    assert "refused" in str(info.value)  # it really tried (not "stops sending" at once)


@pytest.mark.slow
def test_a_new_magic_cell_after_the_server_is_back_runs(restartable, tmp_path):
    from IPython.utils.capture import capture_output
    from magics_harness import magic_shell

    from venice_nb.session import get_session

    with magic_shell(restartable.server, tmp_path) as ip:
        ip.run_line_magic("config", "VeniceMagics.max_retries = 2")
        with capture_output():
            ip.run_cell_magic("venice", "-m z-image-turbo --seed 1 -o first", "a fox")
        restartable.down()
        for _ in range(2):  # the catalogue is cached: these reach the dead port and trip it
            with capture_output(), pytest.raises(Exception, match=r"refused|stops sending"):
                ip.run_cell_magic("venice", "-m z-image-turbo --seed 1:6 -o gone", "a fox")
        assert get_session().client().breaker.blocked(object()) is None  # a new round tries
        for _ in range(3):
            get_session().client().breaker.failed("connection refused", "old cell")
        restartable.up()
        with capture_output():
            ip.run_cell_magic("venice", "-m z-image-turbo --seed 7 -o back", "a fox")
        assert ip.user_ns["back"].images


@pytest.mark.slow
def test_a_new_panel_click_after_the_server_is_back_runs(restartable, tmp_path):
    from venice_nb.panel.app import Panel

    session = down_session(restartable, tmp_path)
    restartable.up()
    panel = Panel(session=session, seed=3, width=256, height=256)
    try:
        panel.generate_button.click()
        assert panel.wait_idle(20)
        assert panel.status_state != "error", panel.status_text
        assert panel.result is not None and panel.result.images
    finally:
        panel.close()


def test_within_one_round_the_open_breaker_still_fails_at_once():
    breaker = CircuitBreaker(threshold=3, cooldown_s=60)
    sweep = object()
    for _ in range(3):
        breaker.failed("connection refused", sweep)
    assert "stops sending" in (breaker.blocked(sweep) or "")
    assert breaker.blocked(object()) is None  # another round: one try
    breaker.failed("connection refused", "next")
    assert breaker.blocked("next") is not None  # its one try failed: open for it
    breaker.succeeded()
    assert breaker.blocked(sweep) is None


def test_in_round_marks_the_thread_and_restores_it():
    from venice_nb.network import current_round

    token = object()
    assert current_round() is not current_round()  # a lone call is its own round
    with in_round(token):
        assert current_round() is token
    assert current_round() is not token
