"""The panel's progress: an estimate from the first run on, scaled to the request in the form; no
stale bar while working; after a Cancel the seed field agrees with the pictures on screen, and a
late (superseded) answer says so in the history."""

from __future__ import annotations

import time
from types import SimpleNamespace

from test_panel import panel, run, session  # noqa: F401  (the fixtures)

from venice_nb.panel.estimate import FIRST_GUESS_S, Estimate, expected_seconds
from venice_nb.result import AnswerTime


def _answer(model: str, count: int, side: int, wall_ms: float) -> AnswerTime:
    request = SimpleNamespace(model=model, image_count=count, width=side, height=side)
    return AnswerTime.of(request, wall_ms)


def test_an_estimate_rests_on_what_was_measured_and_says_when_nothing_was() -> None:
    asked = SimpleNamespace(model="z", image_count=1, width=512, height=512)
    nothing = expected_seconds(asked, [], "venice")
    assert nothing == Estimate(FIRST_GUESS_S["venice"], None)
    assert nothing.note == " (an estimate: nothing measured yet)"
    assert expected_seconds(asked, [], "local").seconds == FIRST_GUESS_S["local"]
    done = [_answer("z", 1, 512, 2000.0)]
    assert expected_seconds(asked, done, "venice") == Estimate(2.0, "z", same_model=True)
    assert expected_seconds(asked, done, "venice").note == ""
    four = SimpleNamespace(model="z", image_count=4, width=512, height=512)
    assert expected_seconds(four, done, "venice").seconds == 5.0  # half fixed, half x4
    # another model: the same-model answer wins when there is one
    done.append(_answer("other", 1, 512, 9000.0))
    assert expected_seconds(asked, done, "venice").seconds == 2.0
    new = expected_seconds(SimpleNamespace(model="new"), done, "venice")
    assert new.measured_on == "other" and new.note == " (measured on other)"
    assert repr(new) == "Estimate(22.5 s, other)"  # 1024 px square: 4x the pixels


def test_the_panels_first_run_is_measured_from_the_sessions_earlier_answers(
    panel,  # noqa: F811
) -> None:
    """A cell sent before the panel's first Generate (here straight through the session) leaves
    its wall time with the session's client: the panel's first estimate rests on it."""
    assert panel.session.recent_answers() == []  # no client yet: nothing measured, and says so
    assert panel._expected_s(panel.request()).measured_on is None
    from venice_nb.operations.generate import GenerateRequest

    sent = GenerateRequest(model=panel.model.value, prompt="x", width=256, height=256, seed=1)
    result = panel.session.generate(sent)
    [answer] = panel.session.recent_answers()
    assert answer.model == sent.model and answer.pixels == 256 * 256
    assert answer.wall_ms == result.timing.wall_ms > 0
    estimate = panel._expected_s(panel.request())
    assert estimate.measured_on == sent.model and estimate.same_model and estimate.note == ""
    # a cached answer is not a measure: the session's cache is off here, so a toolbox-free
    # second send is fresh and lands too
    panel.session.generate(sent, use_cache=False)
    assert len(panel.session.recent_answers()) == 2


def test_after_cancel_the_seed_agrees_and_a_late_answer_is_marked(panel, local_server) -> None:  # noqa: F811
    run(panel)
    shown_seed = panel.result.request.seed
    panel.seed_lock.value = False
    local_server.latency = 0.6
    panel.generate_button.click()  # draws a new seed into the field
    assert panel.seed.value != shown_seed
    assert "venice-previous" in panel.timing._dom_classes or panel.worker.busy
    deadline = time.monotonic() + 5
    while local_server.generate_count < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    panel.generate_button.click()  # Cancel
    assert panel.seed.value == shown_seed  # the field shows the seed of the pictures shown
    assert "venice-previous" not in panel.timing._dom_classes
    assert panel.wait_idle(10)
    late = [i for i in panel.history.children if "venice-superseded" in i._dom_classes]
    assert len(late) == 1 and late[0].children[-1].description == "#2 late"
    # every thumbnail of the strip is one square, so the buttons line up
    assert {i.children[0].layout.height for i in panel.history.children} == {"72px"}


def test_a_new_kernel_measures_from_what_the_cache_kept(local_server, tmp_path) -> None:
    """Answers cached by an earlier kernel carry the wall time they took: a new session's first
    estimate rests on them (same server only), not on a fixed figure."""
    from test_panel import make_session

    from venice_nb.operations.generate import GenerateRequest

    cache_dir = str(tmp_path / "cache")
    earlier = make_session(local_server, tmp_path / "a", cache_enabled=True, cache_dir=cache_dir)
    sent = GenerateRequest(model="z-image-turbo", prompt="x", width=256, height=512, seed=3)
    made = earlier.generate(sent)
    earlier.generate(GenerateRequest(model="z-image-turbo", prompt="y", seed=4, variants=2))
    assert not made.cached

    later = make_session(local_server, tmp_path / "b", cache_enabled=True, cache_dir=cache_dir)
    assert later.recent_answers() == []  # no client yet: nothing is read or made
    later.client()
    found = {a.pixels: a for a in later.recent_answers()}  # two answers, both measured
    assert set(found) == {256 * 512, 2 * 1024 * 1024}
    first = found[256 * 512]
    assert (first.model, first.wall_ms) == ("z-image-turbo", made.timing.wall_ms)
    estimate = expected_seconds(sent, later.recent_answers(), later.backend)
    assert estimate.measured_on == "z-image-turbo" and estimate.same_model
    # another server's answers are not this one's measure
    assert later.cache.answer_times(base_url="http://127.0.0.1:9/api/v1") == []
