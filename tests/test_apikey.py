"""How the key is shown (``mask``) and refused when it could not travel in a header unechoed."""

from __future__ import annotations

import pytest

from venice_nb import errors as E
from venice_nb.apikey import mask
from venice_nb.client import VeniceClient
from venice_nb.operations.generate import GenerateRequest
from venice_nb.server import LocalServer


def req(**kw: object) -> GenerateRequest:
    return GenerateRequest(**{"model": "z-image-turbo", "prompt": "a gondola at dusk", **kw})  # type: ignore[arg-type]


def test_mask_shows_at_most_the_last_two_characters() -> None:
    assert (
        mask("sk-abcdefghijkl-xy") == "****xy"
        and mask("short") == "****"
        and mask(None) == "<not set>"
    )


def test_client_still_offers_mask() -> None:
    """``mask`` moved to apikey.py; ``from venice_nb.client import mask`` is kept for its callers."""
    from venice_nb import client

    assert client.mask is mask


@pytest.mark.parametrize(
    "bad", ["sk-abc\ndef-123456", "sk-abc def-123456", "sk-clé-1234567890", "sk-\x07-12345678"]
)
def test_a_key_that_cannot_be_a_header_is_refused_without_echo(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    with pytest.raises(E.ConfigurationError) as info:
        VeniceClient(bad, base_url=local_server.base_url)
    assert bad not in info.value.one_line() and "non-ASCII" in info.value.one_line()
    monkeypatch.setenv("VENICE_API_KEY", bad)
    c = VeniceClient(base_url=local_server.base_url)
    with pytest.raises(E.ConfigurationError) as info:
        c.generate(req())
    assert "$VENICE_API_KEY" in info.value.one_line() and bad not in str(info.value)
    assert local_server.request_count == 0
    monkeypatch.setenv("VENICE_API_KEY", "  sk-padded-key-12345\n")  # a pasted newline is fine
    assert c.generate(req(width=64, height=64)).images


def test_session_and_client_agree_on_a_blank_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """One function decides: a variable of spaces is no key for the session or the client."""
    from venice_nb.apikey import current_key, masked
    from venice_nb.session import VeniceSession

    monkeypatch.setenv("VENICE_API_KEY", "   ")
    session, client = VeniceSession(), VeniceClient(base_url="http://127.0.0.1:9")
    assert current_key() is None and masked() == "<not set>"
    assert (session.has_key, client.has_key) == (False, False)
    assert session.backend == "local" and session.masked_key == client.masked_key == "<not set>"
    session.login("  ")
    assert not session.has_key
    monkeypatch.setenv("VENICE_API_KEY", " sk-from-the-env-1234 ")
    assert (
        session.has_key and client.has_key and session.masked_key == client.masked_key == "****34"
    )
