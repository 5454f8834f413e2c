"""The ledger: hashed tokens, budgets that cannot go below zero, reservations settled or released."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from venice_nb.classroom.ledger import (
    LedgerError,
    OverBudget,
    SqliteLedger,
    to_micro,
    token_hash,
)


@pytest.fixture
def ledger(tmp_path):
    led = SqliteLedger(tmp_path / "class.sqlite3")
    yield led
    led.close()


def test_a_token_is_long_random_and_only_its_hash_is_stored(ledger, tmp_path):
    token = ledger.add("ada", 1.0)
    other = ledger.add("bob", 1.0)
    assert token != other and len(token) >= 40
    raw = (tmp_path / "class.sqlite3").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("class.sqlite3-*")
    )
    assert token.encode() not in raw and token[4:24].encode() not in raw
    assert token_hash(token).encode() in raw
    assert ledger.authenticate(token).name == "ada"
    assert ledger.authenticate(token + "x") is None
    assert ledger.authenticate("") is None
    assert "vcl_" not in repr(ledger.student("ada"))


def test_wal_mode_and_private_file(ledger, tmp_path):
    db = sqlite3.connect(tmp_path / "class.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    ledger.add("ada", 1.0)
    for name in ("class.sqlite3", "class.sqlite3-wal", "class.sqlite3-shm"):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0, name


def test_reserve_refuses_beyond_the_budget_and_names_it(ledger):
    ledger.add("ada", 0.05)
    first = ledger.reserve("ada", to_micro(0.04))
    with pytest.raises(
        OverBudget, match=r"costs \$0\.02 and your budget has \$0\.01 left of \$0\.05"
    ):
        ledger.reserve("ada", to_micro(0.02))
    ledger.settle(first, to_micro(0.03), images=3)
    s = ledger.student("ada")
    assert (s.spent, s.reserved, s.remaining, s.images, s.requests) == (30_000, 0, 20_000, 3, 1)


def test_settle_never_charges_more_than_was_reserved_nor_twice(ledger):
    ledger.add("ada", 1.0)
    held = ledger.reserve("ada", to_micro(0.05))
    assert ledger.settle(held, to_micro(0.50), images=1) is True
    with pytest.raises(LedgerError, match=r"reservation \d+ is not open .*nothing was charged"):
        ledger.settle(held, to_micro(0.05), images=1)  # a second settle finds nothing
    assert ledger.student("ada").spent == to_micro(0.05)


def test_a_hold_released_under_a_live_request_is_still_charged(ledger):
    ledger.add("ada", 0.10)
    held = ledger.reserve("ada", to_micro(0.05))
    ledger.recover()  # what a second `serve` did to a live gateway's holds
    assert ledger.settle(held, to_micro(0.05), images=1, student="ada") is False
    s = ledger.student("ada")
    assert (s.spent, s.images, s.requests, s.reserved) == (to_micro(0.05), 1, 1, 0)


def test_one_gateway_claims_a_ledger_and_the_claim_ends_with_it(tmp_path):
    from venice_nb.classroom.ledger import LedgerBusy

    path = tmp_path / "class.sqlite3"
    first, second = SqliteLedger(path), SqliteLedger(path)
    first.claim()
    with pytest.raises(LedgerBusy, match=r"another gateway \(process \d+\) is serving the ledger"):
        second.claim()
    first.close()
    second.claim()  # free again once the first gateway has gone
    second.close()
    assert (tmp_path / "class.sqlite3.lock").stat().st_mode & 0o077 == 0


def test_release_costs_nothing(ledger):
    ledger.add("ada", 0.10)
    held = ledger.reserve("ada", to_micro(0.10))
    ledger.release(held)
    s = ledger.student("ada")
    assert (s.spent, s.reserved, s.remaining, s.images) == (0, 0, to_micro(0.10), 0)


def test_class_budget_caps_everyone_together(ledger):
    ledger.add("ada", 1.0)
    ledger.add("bob", 1.0)
    ledger.settle(ledger.reserve("ada", to_micro(0.06), to_micro(0.10)), to_micro(0.06), 1)
    ledger.reserve("bob", to_micro(0.03), to_micro(0.10))
    with pytest.raises(OverBudget, match=r"whole class's budget of \$0\.10"):
        ledger.reserve("bob", to_micro(0.02), to_micro(0.10))


def test_thirty_threads_at_once_never_take_a_budget_below_zero(tmp_path):
    path = tmp_path / "class.sqlite3"
    setup = SqliteLedger(path)
    setup.add("ada", 0.10)
    setup.close()
    granted: list[int] = []
    refused: list[str] = []

    def student() -> None:
        own = SqliteLedger(path)  # one connection each: as separate processes would
        try:
            for _ in range(3):
                try:
                    granted.append(own.reserve("ada", to_micro(0.01)))
                except OverBudget:
                    refused.append("x")
        finally:
            own.close()

    threads = [threading.Thread(target=student) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(granted) == 10 and len(refused) == 80
    check = SqliteLedger(path)
    assert check.student("ada").remaining == 0
    check.close()


def test_recover_releases_what_a_stopped_gateway_left(tmp_path):
    path = tmp_path / "class.sqlite3"
    first = SqliteLedger(path)
    first.add("ada", 1.0)
    first.reserve("ada", to_micro(0.04))
    first.reserve("ada", to_micro(0.01))
    first.close()
    again = SqliteLedger(path)
    recovery = again.recover()
    assert (recovery.released, recovery.amount) == (2, to_micro(0.05))
    assert "released 2 unsettled reservation(s) ($0.05)" in str(recovery)
    assert again.student("ada").remaining == to_micro(1.0)
    assert again.open_reservations() == 0
    assert str(again.recover()) == "ledger consistent: no unsettled reservations"
    again.close()


def test_revoke_and_budget(ledger):
    token = ledger.add("ada", 1.0)
    ledger.set_budget("ada", 2.5)
    assert ledger.student("ada").budget == to_micro(2.5)
    ledger.revoke("ada")
    assert ledger.authenticate(token) is None
    with pytest.raises(LedgerError, match="no student named 'zed'; `list` shows the names"):
        ledger.revoke("zed")


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "ada;drop"])
def test_bad_names_are_one_line(ledger, name):
    with pytest.raises(LedgerError, match="is not usable: use 1-64 letters"):
        ledger.add(name, 1.0)


def test_a_name_is_added_once(ledger):
    ledger.add("ada", 1.0)
    with pytest.raises(LedgerError, match="exists already; `budget ada USD` changes the budget"):
        ledger.add("ada", 2.0)
