"""Checked before paying: the save target, repeated sweep values and a cost guard that counts only
what will be sent, through a real shell against a LocalServer (its counters prove what was sent).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from magics_harness import config, restored_traits, run, texts, warm

from venice_nb.errors import ValidationError
from venice_nb.preflight import check_save_target
from venice_nb.result import GenerationResult, SweepResult

CHEAP = "-m z-image-turbo -W 64 -H 64"
PRICE = 0.01  # z-image-turbo, one image, in the captured catalogue


def cell(line: str, body: str = "a red fox in the snow") -> str:
    return f"%%venice {line}\n{body}"


@pytest.fixture(autouse=True)
def fresh(server):
    server.clear_faults()
    server.reset_counters()


def refusal(ip, source: str) -> str:
    outcome, cap = run(ip, source)
    assert not outcome.success and not cap.outputs, cap.stdout
    return (cap.stdout + cap.stderr).strip().removeprefix("UsageError: ")


# ---- the save target ---------------------------------------------------------------------------


def test_a_save_target_under_a_file_is_refused_before_any_request(ip, server, tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    with restored_traits(ip):
        warm(ip, server)
        message = refusal(ip, cell(f"{CHEAP} -s 1 --save {afile}/shots/today"))
    assert f"is under {str(afile)!r}, which is a file" in message
    assert server.request_count == 0


def test_an_unwritable_save_target_is_refused_before_any_request(ip, server):
    """/proc takes no new files, not even from root (for whom permission bits do not count)."""
    with restored_traits(ip):
        warm(ip, server)
        message = refusal(ip, cell(f"{CHEAP} -s 1 --save /proc/venice-nb-shots"))
    assert "is not writable" in message and "pick a directory you can write to" in message
    assert server.request_count == 0


def test_a_writable_target_that_does_not_exist_yet_passes_and_nothing_is_left(tmp_path):
    target = tmp_path / "new" / "deeper"
    assert check_save_target(target) == target
    assert list(tmp_path.iterdir()) == []  # the write test cleaned up after itself
    if os.geteuid() != 0:  # root writes anywhere; /proc covers it above
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ValidationError, match="is not writable"):
            check_save_target(locked / "shots")


# ---- repeated sweep values ---------------------------------------------------------------------


def test_repeated_seeds_are_one_request_with_a_note(ip, server):
    with restored_traits(ip):
        warm(ip, server)
        outcome, cap = run(ip, cell(f"{CHEAP} --seed 707,707,707"))
    assert outcome.success
    assert isinstance(outcome.result, GenerationResult)  # one value left: not a sweep any more
    assert server.generate_count == 1
    assert "--seed: repeated values merged (707 x3); 1 value left, each requested once" in texts(
        cap
    )


def test_overlapping_ranges_are_merged_too(ip, server):
    with restored_traits(ip):
        warm(ip, server)
        outcome, cap = run(ip, cell(f"{CHEAP} --seed 1:3,2:4 --cfg-scale 4,4.0"))
    assert outcome.success and isinstance(outcome.result, SweepResult)
    assert [c.params["seed"] for c in outcome.result] == [1, 2, 3, 4]
    assert server.generate_count == 4
    notes = [t for t in texts(cap) if "repeated values merged" in t]
    assert notes == [
        "--seed: repeated values merged (2 x2, 3 x2); 4 values left, each requested once",
        "--cfg-scale: repeated values merged (4 x2); 1 value left, each requested once",
    ]


# ---- the cost guard counts what will be sent ----------------------------------------------------


def test_the_cost_guard_counts_only_what_will_be_sent(ip, server, tmp_path):
    with restored_traits(ip):
        config(ip, cache_enabled=True, cache_dir=str(tmp_path / "cache"), cost_limit_usd=0.025)
        warm(ip, server)
        message = refusal(ip, cell(f"{CHEAP} --seed 1:4"))
        assert "would cost about $0.04 (4 requests, 4 images)" in message
        assert server.generate_count == 0
        outcome, _ = run(ip, cell(f"{CHEAP} --seed 1:4 --yes"))
        assert outcome.success and server.generate_count == 4
        # A fully cached re-run costs nothing: it is not refused as costly.
        outcome, cap = run(ip, cell(f"{CHEAP} --seed 1:4"))
        assert outcome.success, cap.stderr
        assert server.generate_count == 4
        # Two new seeds cost $0.02, under the limit; the four cached ones are free.
        outcome, cap = run(ip, cell(f"{CHEAP} --seed 1:6"))
        assert outcome.success, cap.stderr
        assert server.generate_count == 6
        assert "4 of 6 requests come from the cache (free); 2 will be sent" in texts(cap)
        # Three new ones cost $0.03: refused, and the message says what is free.
        message = refusal(ip, cell(f"{CHEAP} --seed 1:9"))
        assert "$0.03 (3 requests, 3 images; 6 more from the cache, free)" in message
        assert server.generate_count == 6


def test_preflight_runs_before_the_catalogue_is_read(ip, server, caplog):
    """A refused setting stops a cell before anything at all is sent, even GET /models."""
    from venice_nb.session import get_session

    with restored_traits(ip):
        run(ip, '%config VeniceMagics.backend = "cloud"')
        get_session().configure(max_retries=0)  # a new client: the catalogue is not read yet
        server.reset_counters()
        message = refusal(ip, cell("-s 1"))
        assert message.startswith("nothing runs while a setting is refused")
        assert server.request_count == 0


def test_check_save_target_names_the_option(tmp_path: Path):
    afile = tmp_path / "a"
    afile.write_text("x")
    with pytest.raises(ValidationError, match=r"^--save '.*a' is a file, not a directory$"):
        check_save_target(str(afile))
