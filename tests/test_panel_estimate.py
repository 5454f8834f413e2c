"""The panel's progress: an estimate from the first run on, scaled to the request in the form; no
stale bar while working; after a Cancel the seed field agrees with the pictures on screen, and a
late (superseded) answer says so in the history."""

from __future__ import annotations

import time
from types import SimpleNamespace

from test_panel import panel, run, session  # noqa: F401  (the fixtures)

from venice_nb.panel.estimate import FIRST_GUESS_S, expected_seconds


def _answer(model: str, count: int, side: int, wall_ms: float, cached: bool = False):
    request = SimpleNamespace(model=model, image_count=count, width=side, height=side)
    result = SimpleNamespace(cached=cached, timing=SimpleNamespace(wall_ms=wall_ms))
    return request, result


def test_a_first_run_has_an_estimate_and_a_change_recomputes_it() -> None:
    asked = SimpleNamespace(model="z", image_count=1, width=512, height=512)
    assert expected_seconds(asked, [], "venice") == (FIRST_GUESS_S["venice"], True)
    assert expected_seconds(asked, [], "local") == (FIRST_GUESS_S["local"], True)
    done = [_answer("z", 1, 512, 2000.0)]
    assert expected_seconds(asked, done, "venice") == (2.0, False)
    four = SimpleNamespace(model="z", image_count=4, width=512, height=512)
    assert expected_seconds(four, done, "venice") == (5.0, False)  # half fixed, half x4
    # another model: the same-model answer wins when there is one
    done.append(_answer("other", 1, 512, 9000.0))
    assert expected_seconds(asked, done, "venice") == (2.0, False)
    assert expected_seconds(SimpleNamespace(model="new"), done, "venice")[1] is True
    # a cached answer says nothing about the service's speed
    assert expected_seconds(asked, [_answer("z", 1, 512, 1.0, cached=True)], "venice")[1]


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
