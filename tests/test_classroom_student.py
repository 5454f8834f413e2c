"""The student's one line, ``%venice classroom URL``, in a real IPython shell against a real gateway."""

from __future__ import annotations

import getpass

import pytest
from classroom_support import GatewayProcess, add_students, assert_secret_free
from IPython.core.error import UsageError
from magics_harness import KEY, assert_no_key, cell, restored_traits, run, seen

from venice_nb.session import get_session

pytest.importorskip("starlette")


@pytest.fixture(scope="module")
def gateway(server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("student")
    tokens = add_students(tmp / "class.sqlite3", {"ada": 1.0, "bob": 0.0})
    with GatewayProcess(tmp / "class.sqlite3", server.base_url, log=tmp / "gw.log") as gw:
        yield gw, tokens


@pytest.fixture(autouse=True)
def fresh(ip):
    with restored_traits(ip):
        yield
    get_session().login(None)


def test_a_student_connects_generates_and_sees_the_budget_left(ip, gateway, monkeypatch):
    gw, tokens = gateway
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": f"  {tokens['ada']}\n")
    bare = gw.base_url.removesuffix("/api/v1")  # the address alone: /api/v1 is added
    _, cap = run(ip, f"%venice classroom {bare}")
    assert cap.stdout.strip() == (
        f"connected to the classroom gateway at {gw.base_url} (token ****{tokens['ada'][-2:]}); "
        "cells now generate there, and the line under each result shows your budget left"
    )
    result, out = cell(ip, "-m z-image-turbo -s 4", "a gondola at dusk")
    assert len(result.images) == 1
    assert result.balance_after() == (pytest.approx(0.99), "USD", True)
    html = str(result._repr_mimebundle_()[0]["text/html"])
    assert "0.99 after this request" in html
    assert not result.is_local_preview  # a rehearsal too: the student's budget was charged
    assert "not billed" not in html and "(simulated)" not in html
    assert_no_key(seen(cap), seen(out))
    assert_secret_free(seen(cap) + seen(out) + repr(get_session()) + gw.log(), [tokens["ada"]])
    assert KEY not in gw.log()


def test_over_budget_is_one_line_in_the_cell(ip, gateway, monkeypatch):
    gw, tokens = gateway
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": tokens["bob"])
    run(ip, f"%venice classroom {gw.base_url}")
    _, out = run(ip, "%%venice -m z-image-turbo -s 1\na fox")
    text = seen(out)
    assert "over budget: this request costs $0.01 and your budget has $0.00 left of $0.00" in text
    assert tokens["bob"] not in text
    assert "Top up your Venice balance" not in text  # the service's hint is not the student's


def test_a_wrong_token_is_refused_at_once_and_forgotten(ip, gateway, monkeypatch):
    gw, _ = gateway
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "vcl_wrong-token-123456")
    before = get_session().settings.base_url
    with pytest.raises(UsageError, match="did not accept the token") as info:
        ip.run_line_magic("venice", f"classroom {gw.base_url}")
    assert "wrong-token" not in str(info.value)
    assert "vcl_wrong" not in get_session().masked_key
    assert get_session().settings.base_url == before  # no other key goes to the gateway


@pytest.mark.parametrize(
    ("line", "message"),
    [("", "usage: %venice classroom URL"), ("class.example.org", "must start with http")],
)
def test_bad_urls_are_one_line_before_asking(ip, monkeypatch, line, message):
    def never(prompt=""):
        raise AssertionError("asked for a token before checking the URL")

    monkeypatch.setattr(getpass, "getpass", never)
    with pytest.raises(UsageError, match=message):
        ip.run_line_magic("venice", f"classroom {line}")


def test_no_token_entered_changes_nothing(ip, gateway, monkeypatch):
    gw, _ = gateway
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "   ")
    _, cap = run(ip, f"%venice classroom {gw.base_url}")
    assert cap.stdout.startswith("no token entered; nothing changed")


def test_logout_undoes_the_classroom_so_no_other_key_goes_to_the_gateway(ip, gateway, monkeypatch):
    gw, tokens = gateway
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": tokens["ada"])
    session = get_session()
    before = (str(session.settings.base_url), session.settings.backend)
    run(ip, f"%venice classroom {gw.base_url}")
    run(ip, f"%venice classroom {gw.base_url}")  # twice: logout still goes back to the start
    assert session.settings.base_url == gw.base_url
    _, cap = run(ip, "%venice logout")
    assert cap.stdout.strip() == (
        f"the class token is forgotten and cells no longer use the classroom gateway at "
        f"{gw.base_url} (back to {before[0]}); VENICE_API_KEY is still set ({session.masked_key})"
    )
    assert (str(session.settings.base_url), session.settings.backend) == before
    result, out = cell(ip, "-m z-image-turbo -s 4", "a gondola at dusk")  # the student's own key
    assert len(result.images) == 1 and "401" not in seen(out)
    _, cap = run(ip, "%venice logout")  # nothing left to undo
    assert cap.stdout.startswith("the key from %venice login is forgotten")
    assert (str(session.settings.base_url), session.settings.backend) == before
