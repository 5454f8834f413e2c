"""Counted words, money and durations: written once for every message."""

from __future__ import annotations

from venice_nb.text import format_diem, format_ms, format_usd, plural


def test_plural() -> None:
    assert [plural(n, "image") for n in (0, 1, 2)] == ["0 images", "1 image", "2 images"]
    assert (
        plural(1, "retry", "retries") == "1 retry" and plural(3, "retry", "retries") == "3 retries"
    )


def test_readable_dates():
    from venice_nb.text import readable_date

    assert readable_date("2026-12-15T00:00:00.000Z") == "15 Dec 2026"
    assert readable_date("2026-12-15T14:05:00+01:00") == "15 Dec 2026 13:05 UTC"
    assert readable_date("2026-03-01") == "1 Mar 2026"
    assert readable_date("soon") == "soon"


def test_timing_repr_rounds_to_a_tenth_of_a_millisecond():
    from venice_nb.result import Timing

    timing = Timing(inference_ms=812.3456, wall_ms=47.005321000028744)
    assert repr(timing).startswith("Timing(inference_ms=812.3, wall_ms=47.0")
    assert "47.005" not in repr(timing) and "queue_ms" not in repr(timing)  # unset: left out


def test_money_and_durations() -> None:
    assert [format_usd(v) for v in (0.01, 0.005, 0, 1234.5)] == [
        "$0.01",
        "$0.005",
        "$0",
        "$1,234.50",
    ]
    assert format_diem(1.5) == "1.5 DIEM"
    assert [format_ms(v) for v in (None, 850, 1234, 125_000)] == [
        "n/a",
        "850 ms",
        "1.23 s",
        "2 min 5 s",
    ]
