"""``%venice`` subcommands as functions of a session, over real HTTP to the local preview server
(the magic's dispatch is tested in test_magics_line.py)."""

from __future__ import annotations

import getpass
import socket

import pytest
from factories import live_session
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from venice_nb import line_commands
from venice_nb.magics import SUBCOMMANDS
from venice_nb.run import VeniceRunError

KEY = "sk-line-commands-canary-5150"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def shell(ip):
    """An IPython shell, so outputs are display data (without one, display() prints)."""
    return ip


@pytest.fixture
def session(local_server, tmp_path):
    return live_session(local_server.base_url, tmp_path, KEY)


def _only_output(cap) -> tuple[str, str]:
    [output] = cap.outputs
    return output.data["text/plain"], output.data["text/html"]


def test_plain_subcommands_are_the_ones_that_take_no_arguments() -> None:
    takes_arguments = {"models", "balance", "classroom", "panel"}
    assert set(line_commands.PLAIN) == set(SUBCOMMANDS) - takes_arguments


def test_models_of_each_kind_list_their_ids_and_prices(session, local_server) -> None:
    with capture_output() as cap:
        line_commands.models(session, "inpaint")
    text, html = _only_output(cap)
    assert "firered-image-edit" in text and "$" in text and "<pre" in html
    assert "z-image-turbo" not in text  # a generation model is not an edit model
    with capture_output() as cap:
        line_commands.models(session, "image")
    text, html = _only_output(cap)
    assert "z-image-turbo: " in text and "firered-image-edit" not in text
    assert local_server.generate_count == 0  # listing is never paid for


def test_balance_reads_the_default_model_when_none_is_named(session, local_server) -> None:
    local_server.balance_usd = 12.5
    with capture_output() as cap:
        line_commands.balance(session, [])
    text, _ = _only_output(cap)
    assert "can spend $12.50" in text
    assert text.splitlines()[1].startswith(f"{session.default_model()}: ")


def test_balance_takes_ids_with_spaces_or_commas_and_refuses_options(session) -> None:
    with capture_output() as cap:
        line_commands.balance(session, ["qwen-image-2,z-image-turbo", "firered-image-edit"])
    text, _ = _only_output(cap)
    lines = text.splitlines()
    assert [line.split(":")[0] for line in lines[1:4]] == [
        "qwen-image-2", "z-image-turbo", "firered-image-edit"
    ]  # fmt: skip
    with pytest.raises(UsageError, match=r"takes model ids, not '--bogus'; e.g. %venice balance"):
        line_commands.balance(session, ["--bogus"])


def test_a_server_that_is_down_is_one_line_without_the_key(tmp_path) -> None:
    down = live_session(f"http://127.0.0.1:{_closed_port()}", tmp_path, KEY)
    for command in (line_commands.styles, lambda s: line_commands.models(s, "upscale")):
        with pytest.raises(VeniceRunError) as caught:
            command(down)
        message = str(caught.value)
        assert "\n" not in message and "127.0.0.1" in message
        assert KEY not in message and KEY[-4:] not in message


def test_login_prints_the_masked_key_only_and_logout_forgets_it(session, monkeypatch) -> None:
    other = "sk-typed-at-the-prompt-7781"
    monkeypatch.setattr(getpass, "getpass", lambda prompt: f"  {other}\n")
    with capture_output() as cap:
        line_commands.login(session)
    assert other not in cap.stdout and "key set (" in cap.stdout
    assert session.has_key and session.masked_key in cap.stdout
    with capture_output() as cap:
        line_commands.logout(session)
    assert "forgotten" in cap.stdout and other not in cap.stdout


def test_an_empty_login_keeps_the_key_in_use(session, monkeypatch) -> None:
    monkeypatch.setattr(getpass, "getpass", lambda prompt: "   ")
    before = session.masked_key
    with capture_output() as cap:
        line_commands.login(session)
    assert cap.stdout.strip() == f"no key entered; the key stays {before}"
    assert session.masked_key == before


def test_help_shows_every_subcommand() -> None:
    with capture_output() as cap:
        line_commands.show_help()
    text, html = _only_output(cap)
    for word in SUBCOMMANDS:
        assert f"%venice {word}" in text or word == "help", word
    assert html.startswith("<pre")
