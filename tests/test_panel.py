"""The panel driven headless: set widget values, click buttons, against a real local server.

Each test gets a fresh ``LocalServer`` and a session pointed at it as if it were the Venice API
(backend "venice", a test key), with the cache off so every click is a real request.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import live_session

from venice_nb.errors import ValidationError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.panel.app import Panel
from venice_nb.panel.worker import Job, Worker
from venice_nb.server import LocalServer
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings
from venice_nb.text import format_ms

TEST_KEY = "panel-test-key-0123456789"


def make_session(
    server: LocalServer, save_dir: Path, key: str = TEST_KEY, **settings
) -> VeniceSession:
    return live_session(server.base_url, save_dir, key, **settings)


@pytest.fixture
def session(local_server: LocalServer, tmp_path: Path) -> VeniceSession:
    return make_session(local_server, tmp_path / "saved")


@pytest.fixture
def panel(session: VeniceSession) -> Iterator[Panel]:
    p = Panel(session=session, seed=42, width=256, height=256)
    try:
        yield p
    finally:
        p.close()


def generate_bodies(server: LocalServer) -> list[dict]:
    return [r.body for r in server.received if r.path.endswith("/image/generate")]


def grid_images(panel: Panel) -> list[bytes]:
    return [bytes(cell.children[0].value) for cell in panel.grid.children]


def captions(panel: Panel) -> list[str]:
    return [cell.children[1].value for cell in panel.grid.children]


def run(panel: Panel) -> None:
    panel.generate_button.click()
    assert panel.wait_idle(20), "the worker did not finish"


def panel_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("venice-panel")]


# ---- the grid, captions, timing --------------------------------------------------------------


def test_variants_fill_the_grid_with_one_captioned_cell_per_image(panel, local_server):
    panel.variants.value = 3
    panel.cfg_scale.value = 6.5
    run(panel)
    assert panel.status_state == "ok", panel.status_text
    [body] = generate_bodies(local_server)
    assert body["variants"] == 3 and body["seed"] == 42 and body["cfg_scale"] == 6.5
    assert body["width"] == 256 and body["height"] == 256
    assert len(panel.grid.children) == 3
    assert grid_images(panel) == [im.data for im in panel.result.images]
    texts = captions(panel)
    assert "seed 42" in texts[0] and "256×256" in texts[0]
    assert (
        "variant 2, not reproducible" in texts[1] and "variant 3, not reproducible" in texts[2]
    )  # only the first variant honours the seed
    assert "#1: 3 images" in panel.status_text


def visible_text(markup: str) -> str:
    """What a reader sees in an HTML widget: tags dropped, entities decoded, spaces collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup)).replace("\xa0", " ")
    return " ".join(text.split())


def test_timing_bar_shows_this_results_numbers(panel, local_server):
    local_server.latency = 0.2
    local_server.inject("stall", seconds=0.05)  # a wait before the work: the queue segment
    run(panel)
    timing = panel.result.timing
    assert timing.inference_ms and timing.inference_ms > 0
    bar = visible_text(panel.timing.value)
    assert f"inference {format_ms(timing.inference_ms)}" in bar
    assert f"queue {format_ms(timing.queue_ms)}" in bar
    assert f"{format_ms(timing.wall_ms)} wall" in bar
    assert f"{format_ms(timing.rest_ms)}" in bar
    first = bar
    panel.variants.value = 2
    run(panel)
    bar = visible_text(panel.timing.value)
    assert bar != first and f"{format_ms(panel.result.timing.wall_ms)} wall" in bar


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_generation_runs_off_the_main_thread(panel, local_server):
    local_server.latency = 1.0
    panel.generate_button.click()
    assert panel.result is None  # the click returned while the server is still sleeping
    assert panel.worker.busy
    assert panel.wait_idle(10)
    assert panel.result is not None


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_status_ticks_while_running(panel, local_server):
    local_server.latency = 1.3
    seen: list[str] = []
    panel.status.observe(lambda c: seen.append(panel.status_text), names="value")
    run(panel)
    ticks = [s for s in seen if s.startswith("#1 generating") and not s.endswith(" 0.0 s")]
    assert ticks, seen  # the elapsed time moved at least once while waiting
    elapsed = re.search(r"· ([\d.]+) s", ticks[-1])
    assert elapsed and float(elapsed.group(1)) >= 0.5, ticks[-1]
    assert "left" in ticks[-1]  # an estimate from the first run on


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_a_second_run_shows_a_progress_bar_and_an_estimate_from_the_first(panel, local_server):
    local_server.latency = 1.0
    run(panel)
    seen: list[tuple[str, str]] = []
    panel.status.observe(lambda c: seen.append((panel.status_text, c["new"])), names="value")
    run(panel)
    ticks = [(t, h) for t, h in seen if t.startswith("#2 generating")]
    assert any(re.search(r"s, (about \d+ s left|any moment now)$", t) for t, _ in ticks), ticks
    assert any("venice-nb-progress" in h for _, h in ticks)


# ---- stale answers and repeated clicks ---------------------------------------------------------


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_a_stale_answer_is_dropped_and_never_shown(panel, local_server, session):
    local_server.latency = 0.8
    first = panel.generate()
    deadline = time.monotonic() + 5
    while local_server.generate_count < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert local_server.generate_count == 1  # the first request is at the server
    shown: list[list[bytes]] = []
    panel.grid.observe(lambda c: shown.append(grid_images(panel)), names="children")
    panel.cfg_scale.value = 9.0
    second = panel.generate()
    assert panel.wait_idle(10)
    assert first.number == 1 and second.number == 2
    assert panel.worker.dropped == 1
    assert panel.shown_number == 2 and panel.result.request.cfg_scale == 9.0
    # the stale answer was paid for: it is in the history, marked superseded, never shown
    assert sorted(e.number for e in panel.entries) == [1, 2]
    assert [e.number for e in panel.entries if e.superseded] == [1]
    assert any("superseded" in item.children[-1].tooltip for item in panel.history.children)
    # What the first request returned (the server is deterministic) never reached the grid.
    local_server.latency = 0
    stale = session.generate(first.request)
    assert stale.images[0].data != panel.result.images[0].data
    assert all(stale.images[0].data not in images for images in shown)
    assert shown and all(images == grid_images(panel) for images in shown)


def test_repeated_generates_send_at_most_one_in_flight_and_one_pending(panel, local_server):
    local_server.latency = 0.5
    jobs = [panel.generate().number for _ in range(6)]
    assert panel.wait_idle(10)
    assert local_server.generate_count <= 2
    assert panel.shown_number == jobs[-1]


def test_generate_becomes_cancel_and_a_cancelled_answer_is_kept_not_shown(panel, local_server):
    local_server.latency = 0.6
    button = panel.generate_button
    assert button.description == "Generate"
    button.click()
    assert button.description == "Cancel" and button.icon == "stop"
    deadline = time.monotonic() + 5
    while local_server.generate_count < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    button.click()  # Cancel
    assert button.description == "Generate"
    assert panel.status_text.startswith("Cancelled.")
    assert panel.wait_idle(10)
    assert local_server.generate_count == 1
    assert panel.result is None and panel.grid.children == ()  # nothing shown...
    assert [(e.number, e.superseded) for e in panel.entries] == [(1, True)]  # ...but kept
    assert button.description == "Generate"


def test_auto_generate_waits_for_the_controls_to_settle(panel, local_server):
    panel.auto_generate.value = True
    for value in (6.0, 6.5, 7.0, 7.5):
        panel.cfg_scale.value = value
    assert panel.wait_idle(10)
    assert [b["cfg_scale"] for b in generate_bodies(local_server)] == [7.5]
    assert panel.result.request.cfg_scale == 7.5


# ---- errors and refusals -----------------------------------------------------------------------


def test_server_errors_land_in_the_status_line_as_one_line(panel, local_server):
    local_server.inject("500", count=10)
    run(panel)
    assert panel.status_state == "error"
    assert panel.status_text.startswith("#1 failed: ")
    assert "\n" not in panel.status_text
    assert "Venice had a problem" in panel.status_text  # ServerError's hint
    assert "ServerError" in panel.last_error  # the traceback is kept, not shown
    assert panel.grid.children == () and panel.result is None


def test_retries_are_shown_while_they_wait(local_server, tmp_path):
    session = make_session(local_server, tmp_path, max_retries=2)
    panel = Panel(session=session, seed=1, width=256, height=256)
    try:
        seen: list[str] = []
        panel.status.observe(lambda c: seen.append(panel.status_text), names="value")
        local_server.inject("503", count=1)
        run(panel)
        assert any("retrying in" in s and "(1/2)" in s for s in seen), seen
        assert panel.status_state == "ok" and "after 1 retry" in panel.status_text
    finally:
        panel.close()


def test_a_wrong_key_is_reported_without_the_key(tmp_path):
    with LocalServer(api_keys=["the-right-key-123456"]) as server:
        session = make_session(server, tmp_path, key="a-wrong-key-987654321")
        panel = Panel(session=session, width=256, height=256)
        try:
            run(panel)
            assert panel.status_state == "error"
            assert "Check your key" in panel.status_text
            assert "a-wrong-key" not in panel.status_text + panel.status.value
            assert "a-wrong-key" not in (panel.last_error or "")
        finally:
            panel.close()


def test_invalid_values_are_refused_like_the_magic_before_any_request(panel, local_server):
    panel.model.value = "venice-sd35"
    assert panel.width.step == 16 and panel.width.max == 1280
    panel.prompt.value = "\U0001f6f6" * 751  # 751 characters, 1,502 UTF-16 units: over 1,500
    run(panel)
    spec = panel.catalogue["venice-sd35"]
    with pytest.raises(ValidationError) as expected:
        GenerateRequest(model="venice-sd35", prompt=panel.prompt.value).check_against(spec)
    assert panel.status_state == "error"
    assert panel.status_text == expected.value.one_line()
    assert "1,502 characters" in panel.status_text
    assert local_server.generate_count == 0


def test_starting_values_are_validated_with_the_magics_messages(session, local_server):
    with pytest.raises(ValidationError, match="at most 1,500"):
        Panel(session=session, model="venice-sd35", prompt="x" * 1501)
    with pytest.raises(ValidationError, match="did you mean 'qwen-image-2'"):
        Panel(session=session, model="qwen-image2")
    with pytest.raises(ValidationError, match="unknown request field 'cfg'"):
        Panel(session=session, cfg=3)
    assert local_server.generate_count == 0
    assert not panel_threads()


def test_an_unexpected_exception_is_reported_not_swallowed(panel, session, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(session, "generate", broken)
    run(panel)
    assert panel.status_state == "error"
    assert "unexpected ZeroDivisionError: division by zero" in panel.status_text
    assert "Traceback" in panel.last_error


# ---- controls ----------------------------------------------------------------------------------


def test_sizing_controls_follow_the_model_and_the_cost_follows_variants(panel, local_server):
    panel.model.value = "gpt-image-2"
    assert list(panel.controls.sizing.children) == [
        panel.aspect_ratio,
        panel.resolution,
        panel.quality,
    ]
    panel.quality.value = "low"
    panel.variants.value = 2
    assert "2 images × $0.02 = $0.04" in panel.cost.value
    request = panel.request()
    assert request.width is None and request.aspect_ratio == "1:1"
    assert (request.resolution, request.quality) == ("1K", "low")
    run(panel)
    [body] = generate_bodies(local_server)
    assert "width" not in body and body["quality"] == "low"
    panel.model.value = "qwen-image-2"
    assert list(panel.controls.sizing.children) == [panel.aspect_ratio]
    panel.model.value = "z-image-turbo"
    assert list(panel.controls.sizing.children) == [panel.width, panel.height]
    assert panel.width.step == 8


def test_seed_lock_randomize_and_hand_picked_seeds(panel, local_server):
    # a number field over the API's seeds (negative ones too), not a billion-wide slider
    assert type(panel.seed).__name__ == "BoundedIntText"
    assert panel.seed.min == -999_999_999 and panel.seed.max == 999_999_999
    assert panel.seed_lock.value  # a seed given when opening the panel is kept
    panel.seed_lock.value = False
    assert panel.seed_lock.description == "New seed each run"
    run(panel)
    run(panel)
    seeds = [b["seed"] for b in generate_bodies(local_server)]
    assert len(set(seeds)) == 2 and panel.seed.value == seeds[-1]
    panel.seed.value = 12345  # choosing a seed by hand keeps it
    assert panel.seed_lock.value
    run(panel)
    assert generate_bodies(local_server)[-1]["seed"] == 12345
    panel.randomize.click()
    assert panel.seed.value != 12345 and panel.seed_lock.value


def test_by_default_each_generate_draws_a_new_seed_and_a_lock_reuses_the_cached_one(
    local_server, tmp_path
):
    session = make_session(
        local_server, tmp_path, cache_enabled=True, cache_dir=str(tmp_path / "c")
    )
    panel = Panel(session=session, width=256, height=256)
    try:
        assert not panel.seed_lock.value and panel.seed_lock.description == "New seed each run"
        run(panel)
        run(panel)
        seeds = [b["seed"] for b in generate_bodies(local_server)]
        assert len(seeds) == 2 and seeds[0] != seeds[1] and all(s >= 0 for s in seeds)
        assert len(panel.entries) == 2 and not panel.result.cached
        # lock: the same seed again is the same picture, served from the cache: no request
        panel.seed_lock.value = True
        run(panel)
        assert len(generate_bodies(local_server)) == 2 and panel.result.cached
        assert panel.result.request.seed == seeds[-1]
    finally:
        panel.close()


def test_step_and_reuse_seed_lock_the_seed(panel, local_server):
    panel.seed_lock.value = False
    panel.seed_up.click()
    assert panel.seed.value == 43 and panel.seed_lock.value
    panel.seed_down.click()
    panel.seed_down.click()
    assert panel.seed.value == 41
    panel.seed_lock.value = False
    panel.variants.value = 2
    run(panel)
    first, second = panel.grid.children
    shown_seed = panel.result.request.seed
    reuse_first = first.children[2].children[2]
    reuse_second = second.children[2].children[2]
    assert reuse_first.tooltip.startswith("Reuse seed") and not reuse_first.disabled
    assert reuse_second.disabled  # variant 2's seed is the server's secret
    assert "not reproducible" in second.children[1].value
    panel.seed.value = 5
    reuse_first.click()
    assert panel.seed.value == shown_seed and panel.seed_lock.value
    run(panel)
    assert generate_bodies(local_server)[-1]["seed"] == shown_seed


def test_after_an_error_the_previous_result_is_dimmed_and_labelled(panel, local_server):
    run(panel)
    local_server.inject("500", count=10)
    run(panel)
    assert panel.status_state == "error" and panel.shown_number == 1
    assert "venice-previous" in panel.grid._dom_classes
    assert "Previous result (#1)" in panel.previous_label.value
    local_server.clear_faults()
    run(panel)
    assert "venice-previous" not in panel.grid._dom_classes and panel.previous_label.value == ""


def test_the_panel_mirrors_its_latest_result_into_static_html(panel, local_server):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    with capture_output() as cap:
        from IPython.display import display

        display(panel)
    assert len(cap.outputs) == 2  # the widget, then its static twin
    assert "application/vnd.jupyter.widget-view+json" in cap.outputs[0].data
    assert "no picture was made" in cap.outputs[1].data["text/html"]
    assert "press Generate" not in cap.outputs[1].data["text/html"]  # no button for a reader
    with capture_output() as cap:
        run(panel)
    updates = [o.data["text/html"] for o in cap.outputs if "text/html" in o.data]
    assert updates, "the static copy was not updated"
    last = updates[-1]
    assert "result #1" in last and last.count("<img") == 1
    assert "%%venice -m z-image-turbo" in last  # the line that makes it again
    assert "<script" not in last


def test_the_static_copy_changes_on_results_only_and_hides_while_the_panel_is_live(
    panel, local_server
):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from venice_nb.panel.widgets import MIRROR_BESIDE_LIVE_PANEL, STYLE

    InteractiveShell.instance()
    with capture_output():
        from IPython.display import display

        display(panel)
    run(panel)
    local_server.inject("500", count=10)
    with capture_output() as cap:
        run(panel)
    assert panel.status_state == "error"
    # a failure is the live panel's business: the reader's copy keeps the last picture, no error
    assert not [o for o in cap.outputs if "text/html" in o.data]
    assert "result #1" in panel.mirror_bundle()["text/html"]
    assert "\u2717" not in panel.mirror_bundle()["text/html"]
    # the live panel hides its own copy, and only that one (a bare rule hid every notebook's copy)
    assert f"{MIRROR_BESIDE_LIVE_PANEL}{{display:none}}" in STYLE
    assert (
        "<style>.venice-nb-panel-mirror{" not in STYLE and "}.venice-nb-panel-mirror{" not in STYLE
    )


def test_history_restores_parameters_and_images_without_a_request(panel, local_server):
    run(panel)
    first_images = grid_images(panel)
    panel.cfg_scale.value = 9.0
    panel.seed.value = 7
    panel.variants.value = 2
    run(panel)
    assert len(panel.history.children) == 2
    count = local_server.generate_count
    item = next(i for i in panel.history.children if i.children[-1].description == "#1")
    item.children[-1].click()
    assert (panel.controls.cfg_chosen, panel.seed.value, panel.variants.value) == (False, 42, 1)
    assert panel.request().cfg_scale is None  # #1 left cfg to the model, and so does the restore
    assert grid_images(panel) == first_images
    assert panel.shown_number == 1 and "Restored #1" in panel.status_text
    assert panel.wait_idle(5) and local_server.generate_count == count


def test_save_all_and_save_one_write_images_and_sidecars(panel, session):
    panel.variants.value = 2
    run(panel)
    panel.save_all.click()
    target = Path(session.settings.save_dir)
    assert panel.status_state == "ok" and str(target.resolve()) in panel.status_text
    assert len(list(target.glob("*.webp"))) == 2 and len(list(target.glob("*.json"))) == 2
    save_second = panel.grid.children[1].children[2].children[1]
    save_second.click()
    assert len(list(target.glob("*.webp"))) == 3
    assert "Saved 1 image" in panel.status_text


def test_enlarge_toggles_a_large_view(panel):
    run(panel)
    enlarge = panel.grid.children[0].children[2].children[0]
    enlarge.click()
    assert len(panel.viewer.children) == 2
    assert bytes(panel.viewer.children[1].value) == panel.result.images[0].data
    enlarge.click()
    assert panel.viewer.children == ()


def test_local_backend_says_not_billed(tmp_path):
    session = VeniceSession(Settings(backend="local", cache_enabled=False, save_dir=str(tmp_path)))
    panel = Panel(session=session, width=256, height=256)
    try:
        assert "local preview: not billed" in panel.cost.value
        assert "local preview" in panel.status_text  # the one-time notice
    finally:
        panel.close()


# ---- display and lifetime ----------------------------------------------------------------------


def test_panel_displays_as_its_root_widget(panel):
    bundle = panel._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == panel.root.model_id


def test_close_stops_the_worker_and_leaves_no_thread(session, local_server):
    before = set(panel_threads())
    panel = Panel(session=session, width=256, height=256)
    assert set(panel_threads()) == before  # no thread until there is work
    local_server.latency = 0.5
    panel.generate_button.click()
    assert len(set(panel_threads()) - before) >= 1 and panel.worker.alive
    panel.close()
    assert not panel.worker.alive
    assert set(panel_threads()) <= before
    assert panel.generate_button.comm is None and panel.root.comm is None
    with pytest.raises(RuntimeError, match="closed"):
        panel.generate()


class Recorder:
    """A worker listener that keeps what it was told."""

    def __init__(self) -> None:
        self.finished: list[tuple[int, object]] = []

    def job_started(self, job: Job) -> None: ...
    def job_tick(self, job: Job) -> None: ...
    def job_retry(self, job: Job, event: object) -> None: ...

    def job_finished(self, job: Job, result: object) -> None:
        self.finished.append((job.number, result))

    def job_failed(self, job: Job, error: BaseException, trace: str) -> None:
        self.finished.append((job.number, error))


def test_an_idle_worker_thread_ends_and_the_next_request_starts_one():
    listener = Recorder()
    worker = Worker(lambda request, on_retry, cancel: request.seed, listener, idle_exit_s=0.1)
    request = GenerateRequest(model="m", prompt="p", seed=1)
    try:
        worker.submit(request)
        assert worker.wait_idle(5)
        deadline = time.monotonic() + 5
        while worker.alive and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not worker.alive  # ended by itself: an abandoned panel keeps no thread
        worker.submit(request.with_(seed=2))
        assert worker.wait_idle(5)
        assert listener.finished == [(1, 1), (2, 2)]
    finally:
        assert worker.close()


def test_style_dropdown_sends_a_style_only_when_one_is_chosen(panel, local_server):
    assert panel.style_preset.label == "(no style)"
    assert panel.request().style_preset is None
    style = panel.styles[1]
    panel.style_preset.value = style
    run(panel)
    assert generate_bodies(local_server)[-1]["style_preset"] == style
    panel.style_preset.value = ""
    run(panel)
    assert "style_preset" not in generate_bodies(local_server)[-1]


@pytest.mark.parametrize(
    ("prompt", "badge", "words"),
    [("a nsfw test", "blurred", "blurred by safe mode"),
     ("a violation-test", "blocked", "blocked by the content policy")],
)  # fmt: skip
def test_moderated_images_carry_a_badge_and_the_status_says_so(panel, prompt, badge, words):
    panel.prompt.value = prompt
    run(panel)
    assert badge in visible_text(captions(panel)[0])
    assert words in panel.status_text


def test_cfg_is_sent_only_once_the_user_chose_it(panel, local_server):
    assert not panel.controls.cfg_chosen and panel.cfg_scale.description == "cfg (auto)"
    run(panel)
    first = [r.body for r in local_server.received if r.path.endswith("/image/generate")][-1]
    assert "cfg_scale" not in first  # the model's own default, not a fixed 5.0
    panel.cfg_scale.value = 7.5
    assert panel.controls.cfg_chosen and panel.cfg_scale.description == "cfg_scale"
    run(panel)
    second = [r.body for r in local_server.received if r.path.endswith("/image/generate")][-1]
    assert second["cfg_scale"] == 7.5


def test_fields_the_model_ignores_are_named_and_not_sent(panel, local_server):
    panel.model.value = "nano-banana-pro"
    # a model that ignores seeds: the seed controls are off, nothing says "seed None"
    assert panel.seed.disabled and panel.seed_lock.disabled and panel.randomize.disabled
    assert "ignores the seed" in panel.seed.tooltip
    run(panel)
    assert "seed None" not in panel.status_text and "no seed" in panel.status_text
    body = [r.body for r in local_server.received if r.path.endswith("/image/generate")][-1]
    assert body["model"] == "nano-banana-pro" and "seed" not in body
    assert panel.result is not None and panel.result.seed is None
