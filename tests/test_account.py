"""The key's standing (``GET /api_keys/rate_limits``): ``KeyStanding``, ``VeniceClient.rate_limits()``,
``VeniceSession.balance()`` keyless, and ``%venice balance`` end to end."""

from __future__ import annotations

import pytest
from IPython.utils.capture import capture_output
from magics_harness import KEY, assert_no_key, restored_traits, seen, warm

from venice_nb.account import KeyStanding
from venice_nb.client import VeniceClient
from venice_nb.errors import AuthenticationError, InvalidResponseError
from venice_nb.server import LocalServer
from venice_nb.session import VeniceSession

LIVE_SHAPE = {
    "data": {
        "accessPermitted": True,
        "apiTier": {"id": "paid", "isCharged": True},
        "balances": {"USD": 10.5, "DIEM": 2.25, "VCU": 100},
        "keyExpiration": "2027-03-01T00:00:00.000Z",
        "nextEpochBegins": "2026-12-08T00:00:00.000Z",
        "rateLimits": [
            {"apiModelId": "z-image-turbo", "rateLimits": [{"amount": 20, "type": "RPM"}]},
            {"apiModelId": "odd", "rateLimits": [{"amount": "x", "type": "RPM"}]},
            {"nope": 1},
        ],
    }
}


def test_key_standing_reads_the_live_shape() -> None:
    standing = KeyStanding.from_json(LIVE_SHAPE)
    assert standing.tier == "paid" and standing.charged is True
    assert standing.balances == {"USD": 10.5, "DIEM": 2.25, "VCU": 100.0}
    assert standing.limits == {"z-image-turbo": {"RPM": 20}, "odd": {}}
    text = standing.text(["z-image-turbo", "qwen-image-2"])
    assert text.splitlines() == [
        "Venice key: tier paid; can spend $10.50 + 2.25 DIEM + 100 VCU; expires 1 Mar 2027",
        "z-image-turbo: 20 RPM",
        "qwen-image-2: not listed",
        "daily allowances renew 8 Dec 2026",
    ]
    assert "<b>Venice key: tier paid" in standing.html(["z-image-turbo"])
    assert repr(standing).startswith("<KeyStanding venice tier=paid")
    denied = KeyStanding.from_json({"data": {"accessPermitted": False}})
    assert denied.summary().endswith("no expiry; ACCESS NOT PERMITTED")
    with pytest.raises(InvalidResponseError, match="no 'data' object"):
        KeyStanding.from_json({"error": "x"})


def test_client_rate_limits_against_the_local_server() -> None:
    with LocalServer(api_keys=["sk-good"], balance_usd=7.25, rate_limit_rpm=12) as srv:
        with VeniceClient("sk-good", base_url=srv.base_url) as client:
            standing = client.rate_limits()
        assert standing.local_preview and standing.balances == {"USD": 7.25, "DIEM": 0.0}
        assert standing.limits["z-image-turbo"]["RPM"] == 12
        assert standing.summary().startswith("local preview (simulated numbers")
        assert srv.generate_count == 0 and srv.balance_usd == 7.25  # reading it is free
        with (
            VeniceClient("sk-wrong", base_url=srv.base_url) as client,
            pytest.raises(AuthenticationError),
        ):
            client.rate_limits()


def test_session_balance_keyless_reads_the_local_preview(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("VENICE_API_KEY", raising=False)
    session = VeniceSession()
    session.configure(backend="auto", cache_dir=str(tmp_path))
    standing = session.balance()
    assert standing.local_preview and "USD" in standing.balances
    assert "local preview" in standing.text(["z-image-turbo"]).splitlines()[0]


def test_venice_balance_magic(ip, server) -> None:
    with restored_traits(ip):
        warm(ip, server)
        server.balance_usd = 42.5
        with capture_output() as cap:
            ip.run_line_magic("venice", "balance")
        text = cap.outputs[0].data["text/plain"]
        assert text.splitlines()[0].startswith("local preview (simulated numbers")
        assert "can spend $42.50" in text and "z-image-turbo: 1,000 RPM" in text
        assert "<b>" in cap.outputs[0].data["text/html"]
        with capture_output() as cap2:
            ip.run_line_magic("venice", "balance qwen-image-2 firered-image-edit")
        lines = cap2.outputs[0].data["text/plain"].splitlines()
        assert lines[1].startswith("qwen-image-2: ") and lines[2].startswith("firered-image-edit: ")
        assert server.generate_count == 0
        assert [r.path for r in server.received][-1].endswith("/api_keys/rate_limits")
        assert all(r.has_auth for r in server.received if "rate_limits" in r.path)
        assert_no_key(seen(cap), seen(cap2))
        assert KEY not in text
