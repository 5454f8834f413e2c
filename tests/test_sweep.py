"""Sweeps: the runner on its own, and ``%%venice`` sweeps through a real shell, against LocalServers."""

from __future__ import annotations

import _thread
import json
import re
import threading
import time

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from magics_harness import (
    KEY,
    assert_no_key,
    cell,
    config,
    restored_traits,
    run,
    seen,
    texts,
    warm,
)

from venice_nb.errors import NotSentError, ServerError, ValidationError
from venice_nb.magics import GenerationCancelled, VeniceRunError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import SweepResult
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings
from venice_nb.sweep import Job, SweepRunner, run_sweep


@pytest.fixture(autouse=True)
def clean(server):
    server.latency = 0.0
    server.clear_faults()
    server.reset_counters()
    yield
    server.clear_faults()
    server.latency = 0.0


def make_session(server, **settings):
    session = VeniceSession(
        Settings(backend="venice", base_url=server.base_url, cache_enabled=False, **settings)
    )
    session.login(KEY)
    return session


def seed_jobs(seeds):
    return [
        Job(GenerateRequest(model="z-image-turbo", prompt="a fox", seed=s), {"seed": s})
        for s in seeds
    ]


# ---- the runner -------------------------------------------------------------------------------


def test_results_land_in_their_own_cell_whatever_the_completion_order(server):
    session = make_session(server, concurrency=4)
    server.latency = 0.05
    jobs = seed_jobs(range(1, 9))
    sweep = run_sweep(session, jobs, cols="seed")
    assert [c.params["seed"] for c in sweep.cells] == list(range(1, 9))
    assert [c.result.seed for c in sweep.cells] == list(range(1, 9))
    assert all(c.result.request is j.request for c, j in zip(sweep.cells, jobs, strict=True))
    assert sorted(r.body["seed"] for r in server.received if r.method == "POST") == list(
        range(1, 9)
    )
    assert sweep.cols == "seed" and sweep.wall_ms > 0


def test_partial_failures_become_cell_errors(server):
    session = make_session(server, concurrency=1, max_retries=0)
    session.client().models()
    server.inject("500", count=2)
    sweep = run_sweep(session, seed_jobs([1, 2, 3, 4]))
    assert [c.ok for c in sweep.cells] == [False, False, True, True]
    assert all(isinstance(c.error, ServerError) for c in sweep.cells[:2])
    assert len(sweep.errors) == 2 and len(sweep.results) == 2


def test_progress_is_reported_once_per_request(server):
    session = make_session(server, concurrency=2)
    seen_progress = []
    lock = threading.Lock()

    def progress(done, total, cell):
        with lock:
            seen_progress.append((done, total, cell.params["seed"]))

    run_sweep(session, seed_jobs([1, 2, 3]), on_progress=progress)
    assert sorted(d for d, _, _ in seen_progress) == [1, 2, 3]
    assert {t for _, t, _ in seen_progress} == {3}
    assert sorted(s for _, _, s in seen_progress) == [1, 2, 3]


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_cancel_drops_queued_requests_and_silences_callbacks(server):
    session = make_session(server, concurrency=1)
    session.client().models()
    server.reset_counters()
    server.latency = 0.8
    calls = []
    runner = SweepRunner(session, seed_jobs([1, 2, 3, 4]), on_progress=lambda *a: calls.append(a))
    runner.start()
    while server.request_count == 0:
        time.sleep(0.02)
    runner.close(cancel=True)
    time.sleep(1.2)  # the request in flight finishes on the server; nothing else is sent
    assert server.generate_count == 1
    assert calls == []
    # the dropped cells are failures retry_failed sends again (nothing was paid), not blanks
    assert all(c.result is None and isinstance(c.error, NotSentError) for c in runner.cells[1:])
    assert not isinstance(runner.cells[0].error, NotSentError)  # it was sent


def test_a_bug_in_a_worker_is_raised_not_swallowed(server):
    class Broken:
        settings = Settings(concurrency=2)

        def send(self, request, **kw):
            if request.seed == 2:
                raise RuntimeError("bug in the worker")
            return None

    with pytest.raises(RuntimeError, match="bug in the worker"):
        SweepRunner(Broken(), seed_jobs([1, 2, 3])).run()  # type: ignore[arg-type]


# ---- %%venice sweeps --------------------------------------------------------------------------


@pytest.fixture
def shell(ip, server):
    with restored_traits(ip):
        warm(ip, server)
        yield ip


def posted(server):
    return [r.body for r in server.received if r.method == "POST"]


def test_seed_by_cfg_grid(shell, server):
    sweep, cap = cell(shell, "-s 1:3 -c 4,6 -o grid", "a fox")
    assert isinstance(sweep, SweepResult) and shell.user_ns["grid"] is sweep
    assert (sweep.rows, sweep.cols) == ("seed", "cfg_scale")
    assert [(c.params["seed"], c.params["cfg_scale"]) for c in sweep.cells] == [
        (1, 4.0), (1, 6.0), (2, 4.0), (2, 6.0), (3, 4.0), (3, 6.0),
    ]  # fmt: skip
    assert all(c.result.request.seed == c.params["seed"] for c in sweep.cells)
    assert all(c.result.request.cfg_scale == c.params["cfg_scale"] for c in sweep.cells)
    assert sorted((b["seed"], b["cfg_scale"]) for b in posted(server)) == [
        (s, c) for s in (1, 2, 3) for c in (4.0, 6.0)
    ]
    data, metadata = shell.display_formatter.format(sweep)
    html = data["text/html"]
    for label in ("seed=1", "seed=3", "cfg_scale=4", "cfg_scale=6"):
        assert label in html.replace("<wbr>", "")
    assert html.count("<img") == 6
    assert len(metadata["venice_nb"]["cells"]) == 6
    assert any("sweep over seed x cfg_scale" in t for t in texts(cap))
    assert texts(cap)[-1].startswith("6/6 done in")
    assert_no_key(seen(cap), json.dumps(metadata, default=str), html)


def test_each_combination_is_validated_once_and_sent_as_validated(shell, monkeypatch):
    """The magic validates at the surface; the session and the client send that value as is."""
    checked: list[GenerateRequest] = []
    real = GenerateRequest.review

    def counting(self, spec, styles=None):
        checked.append(self)
        return real(self, spec, styles)

    monkeypatch.setattr(GenerateRequest, "review", counting)
    sweep, _ = cell(shell, "-m nano-banana-2 -s 1,2 -c 4,6 --resolution 1k --no-cache", "a fox")
    assert len(checked) == 4 and all(c.ok for c in sweep.cells)
    assert {c.result.request.resolution for c in sweep.cells} == {"1K"}  # the validated value
    assert all(c.result.request.validated == "generate" for c in sweep.cells)


def test_a_changed_copy_of_a_validated_request_is_checked_again(server):
    session = make_session(server)
    valid = session.validate(GenerateRequest(model="z-image-turbo", prompt="a fox", seed=1))
    assert valid.validated == "generate" and valid.with_(seed=2).validated is None
    assert "validated" not in valid.to_json() and valid == valid.with_(seed=1)
    with pytest.raises(ValidationError):
        session.generate(valid.with_(prompt="x" * 100_000))  # not sent because its original was
    assert server.generate_count == 0


def test_axes_follow_the_order_on_the_line(shell):
    sweep, _ = cell(shell, "-c 4,6 -s 1,2", "a fox")
    assert (sweep.rows, sweep.cols) == ("cfg_scale", "seed")
    assert [c.params for c in sweep.cells][:2] == [
        {"cfg_scale": 4.0, "seed": 1},
        {"cfg_scale": 4.0, "seed": 2},
    ]


def test_model_style_and_aspect_ratio_sweeps(shell, server):
    sweep, _ = cell(shell, "-m z-image-turbo,qwen-image-2 -s 5", "a fox")
    assert [b["model"] for b in posted(server)].count("qwen-image-2") == 1
    assert sweep.cols is None and [c.params["model"] for c in sweep.cells] == [
        "z-image-turbo",
        "qwen-image-2",
    ]
    server.reset_counters()
    sweep, _ = cell(shell, '--style "Anime,Pixel Art" -s 5', "a fox")
    assert sorted(b["style_preset"] for b in posted(server)) == ["Anime", "Pixel Art"]
    server.reset_counters()
    sweep, _ = cell(shell, "-m qwen-image-2 -a 1:1,16:9 -c 4:6:2", "a fox")
    assert (sweep.rows, sweep.cols) == ("aspect_ratio", "cfg_scale")
    assert sorted((b["aspect_ratio"], b["cfg_scale"]) for b in posted(server)) == [
        ("16:9", 4), ("16:9", 6), ("1:1", 4), ("1:1", 6),
    ]  # fmt: skip
    server.reset_counters()
    sweep, _ = cell(shell, "-m venice-sd35 --steps 10:20:10", "a fox")  # a model that uses steps
    assert sorted(b["steps"] for b in posted(server)) == [10, 20]


def test_a_third_axis_makes_one_titled_sub_grid_per_value(shell):
    sweep, _ = cell(shell, "-m venice-sd35 -s 1,2 -c 4,6 --steps 6,8", "a fox")
    assert len(sweep.cells) == 8 and (sweep.rows, sweep.cols) == ("seed", "cfg_scale")
    assert sweep.pages == "steps"
    html = shell.display_formatter.format(sweep)[0]["text/html"]
    titles = re.findall(r'venice-nb-page-title"[^>]*>([^<]*)<', html)
    assert titles == ["steps=6", "steps=8"]
    assert html.count('class="venice-nb-grid"') == 2
    assert "sub-grids: <b>steps</b>" in html


def test_one_long_axis_wraps_as_a_labelled_gallery(shell):
    sweep, _ = cell(shell, "-s 1:6", "a fox")
    assert (sweep.rows, sweep.cols) == (None, None)
    html = shell.display_formatter.format(sweep)[0]["text/html"]
    assert all(f"seed={n}" in html or f"seed {n}" in html for n in range(1, 7))


def test_partial_failures_show_in_the_grid_and_the_status(shell, server):
    config(shell, concurrency=1)
    warm(shell, server)
    server.inject("500", count=2)
    sweep, cap = cell(shell, "-s 1:3", "a fox")
    assert [c.ok for c in sweep.cells] == [False, False, True]
    assert "1/3 done" in texts(cap)[-1] and "2 failed" in texts(cap)[-1]
    html = shell.display_formatter.format(sweep)[0]["text/html"]
    assert html.count("venice-nb-failed") == 2 and html.count("<img") == 1


def test_retry_failed_sends_only_the_failed_cells(shell, server, capsys):
    config(shell, concurrency=1)
    warm(shell, server)
    server.inject("500", count=2)
    sweep, _ = cell(shell, "-s 1:3", "a fox")
    assert [c.ok for c in sweep.cells] == [False, False, True]
    paid = sweep.cells[2].result
    server.reset_counters()
    capsys.readouterr()
    assert sweep.retry_failed() is sweep
    said = capsys.readouterr().out  # feedback, not silence
    assert "sending 2 failed cell(s) again" in said and "2 now ok, 0 failed again" in said
    assert sorted(b["seed"] for b in posted(server)) == [1, 2]  # the paid-for cell is not resent
    assert [c.ok for c in sweep.cells] == [True, True, True] and sweep.cells[2].result is paid
    assert [c.result.request.seed for c in sweep.cells] == [1, 2, 3]
    html = shell.display_formatter.format(sweep)[0]["text/html"]
    assert "venice-nb-failed" not in html and html.count("<img") == 3
    server.reset_counters()
    sweep.retry_failed()  # nothing failed: nothing sent
    assert posted(server) == [] and "nothing sent" in capsys.readouterr().out


def test_a_sweep_where_everything_failed_is_one_line(shell, server):
    server.inject("500", count=2)
    outcome, cap = run(shell, "%%venice -s 1,2\na fox")
    assert isinstance(outcome.error_in_exec, VeniceRunError)
    assert "Traceback" not in cap.stdout + cap.stderr
    assert texts(cap)[-1].startswith("all 2 requests failed")


def test_a_sweep_where_everything_failed_is_bound_so_retry_failed_is_at_hand(shell, server):
    config(shell, max_retries=0)
    server.inject("500", count=2)
    shell.user_ns.pop("failed_grid", None)
    outcome, _ = run(shell, "%%venice -s 1,2 -o failed_grid\na fox")
    assert isinstance(outcome.error_in_exec, VeniceRunError)
    grid = shell.user_ns["failed_grid"]  # was a NameError: nothing to retry from
    assert isinstance(grid, SweepResult) and len(grid.errors) == 2
    server.reset_counters()
    grid.retry_failed()  # the server is well again: exactly the two are sent
    assert server.generate_count == 2 and [c.ok for c in grid.cells] == [True, True]


def test_cost_guard_refuses_then_yes_confirms(shell, server):
    config(shell, cost_limit_usd=0.05)
    outcome, cap = run(shell, "%%venice -s 1:12\na fox")
    assert type(outcome.error_in_exec) is UsageError
    assert "about $0.12 (12 requests, 12 images)" in cap.stderr
    assert "above the limit of $0.05" in cap.stderr and "--yes" in cap.stderr
    assert "local preview" not in cap.stderr  # the real backend was configured
    assert server.request_count == 0
    sweep, _ = cell(shell, "-s 1:12 --yes", "a fox")
    assert len(sweep.results) == 12 and server.generate_count == 12


def test_cost_guard_counts_variants_and_says_local_preview_is_free(shell, server):
    config(shell, cost_limit_usd=0.05, backend="local")
    with pytest.raises(UsageError) as info:
        cell(shell, "-n 4 -s 1:2", "a fox")
    assert "(2 requests, 8 images)" in str(info.value)
    assert "(local preview: nothing is charged)" in str(info.value)


def test_sweeps_are_bounded(shell, server):
    outcome, cap = run(shell, "%%venice -s 1:100 -c 1:5 --yes\na fox")
    assert type(outcome.error_in_exec) is UsageError and "split it" in cap.stderr
    assert server.request_count == 0


def test_sweep_save_writes_every_image(shell, tmp_path):
    cell(shell, f"-s 1,2 --save {tmp_path}", "a fox")
    assert len(list(tmp_path.glob("*.webp"))) == 2 and len(list(tmp_path.glob("*.json"))) == 2


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_ctrl_c_cancels_at_once_and_nothing_updates_afterwards(shell, server):
    config(shell, concurrency=1)
    warm(shell, server)
    server.latency = 1.0
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:
        outcome, cap = run(shell, "%%venice -s 1:4 -o never\na fox")
    finally:
        timer.cancel()
    assert isinstance(outcome.error_in_exec, GenerationCancelled)
    assert isinstance(outcome.error_in_exec, KeyboardInterrupt)  # Run All stops here
    shown = [line for line in cap.stdout.splitlines() if line.strip()]
    assert len(shown) == 1 and "KeyboardInterrupt" in shown[0] and "cancelled" in shown[0]
    assert texts(cap)[-1].startswith("cancelled after")
    # bound though nothing had landed: the grid's retry_failed() sends what was dropped
    assert repr(shell.user_ns.pop("never")).startswith("<SweepResult 4 cells, 3 not sent")
    with capture_output() as later:
        time.sleep(1.3)  # the request in flight finishes; the queued three are never sent
    assert later.outputs == [] and later.stdout == ""
    assert server.generate_count == 1


def _interrupt_at(server, posts: int) -> threading.Thread:
    """Ctrl-C in the test's (main) thread once ``posts`` requests reached the server: the first
    answers landed, the next one is in flight."""

    def watch() -> None:
        for _ in range(400):  # bounded: 20 s at most
            if len([r for r in server.received if r.method == "POST"]) >= posts:
                _thread.interrupt_main()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _edit_jobs(models):
    from PIL import Image

    from venice_nb.verbs import build_edit

    picture = Image.new("RGB", (320, 256), (10, 80, 160))
    return [Job(build_edit(picture, "make it night", m), {"model": m}) for m in models]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("jobs", "again"),
    [
        (lambda: seed_jobs([1, 2, 3, 4]), lambda landed: seed_jobs([landed.seed])),
        (
            lambda: _edit_jobs(["qwen-image-2-edit", "firered-image-edit", "flux-2-max-edit"]),
            lambda landed: _edit_jobs([landed.request.model]),
        ),
    ],
    ids=["generation", "edit"],
)
def test_an_interrupted_python_sweep_keeps_what_landed_in_partial_and_in_the_cache(
    server, tmp_path, jobs, again
):
    session = make_session(server, concurrency=1)
    session.configure(cache_enabled=True, cache_dir=str(tmp_path / "cache"))
    session.client().models()
    server.latency = 0.4
    watcher = _interrupt_at(server, 2)
    with pytest.raises(KeyboardInterrupt) as info:  # Run All stops, as before
        run_sweep(session, jobs(), cols="seed")
    watcher.join(5)
    partial = info.value.partial  # type: ignore[attr-defined]
    assert isinstance(info.value, GenerationCancelled) and isinstance(partial, SweepResult)
    assert 1 <= len(partial.results) < 4 and partial.cols == "seed"
    assert "in .partial" in str(info.value)
    landed = partial.results[0]
    server.latency = 0.0
    time.sleep(0.5)  # the request in flight at the interrupt finishes
    before = len([r for r in server.received if r.method == "POST"])
    rerun = run_sweep(session, again(landed))
    assert rerun.results[0].cached and rerun.results[0].images[0].data == landed.images[0].data
    assert len([r for r in server.received if r.method == "POST"]) == before  # not paid again


def test_session_and_sweep_entry_points_take_prompts_and_refuse_the_rest(server):
    """A plain prompt and plain requests are accepted; anything else is a TypeError up front."""
    session = make_session(server)
    assert session.generate("a fox in the snow").images
    grid = run_sweep(session, [GenerateRequest(model="z-image-turbo", prompt="a fox", seed=s)
                               for s in (1, 2)])  # fmt: skip
    assert not grid.errors and len(grid.results) == 2
    assert server.generate_count == 3
    with pytest.raises(
        TypeError, match=r"VeniceSession.generate expects a GenerateRequest, got int"
    ):
        session.generate(42)
    with pytest.raises(TypeError, match=r"Job expects a GenerateRequest, got str"):
        Job("a fox")
    with pytest.raises(TypeError, match=r"run_sweep expects a list of Job or GenerateRequest"):
        run_sweep(session, "a fox")
    assert server.generate_count == 3


def test_the_copied_venice_cell_sends_the_same_request_body(shell, server):
    from venice_nb.display.tiles import reproduce_cell

    body = "a {{braced}} fox at dusk\n---\nblurry, text"
    first, _ = cell(shell, '-m z-image-turbo -s 7 -c 5.5 --style "Pixel Art" -W 512 -H 384', body)
    sent = posted(server)[-1]
    copied = reproduce_cell(first.request, first.seed)
    line, _, rest = copied.partition("\n")
    assert line.startswith("%%venice -m z-image-turbo")
    server.reset_counters()
    again, _ = cell(shell, line.removeprefix("%%venice ") + " --no-cache", rest)
    assert posted(server) == [sent]
    assert again.request.to_json() == first.request.to_json()


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_tiles_fill_in_while_the_sweep_runs(shell, server):
    config(shell, concurrency=1)
    warm(shell, server)
    server.latency = 0.4
    sweep, cap = cell(shell, "-s 1:3", "a fox")
    assert [c.ok for c in sweep.cells] == [True, True, True]
    htmls = [o.data.get("text/html", "") for o in cap.outputs]
    live = [h for h in htmls if "venice-nb-grid" in h]
    assert live[0].count('class="venice-nb-pending"') == 3 and "<img" not in live[0]
    partial = [h for h in live if "venice-nb-pending" in h and "<img" in h]
    assert partial, "no grid showed some tiles while others were still pending"
    assert any("venice-nb-progress" in h for h in live)
    assert any(re.search(r"\d/3 done, \d running · \d+ s, about \d+ s left", t) for t in texts(cap))
    # when the cell ends, the live grid leaves the status line: the result is the one grid
    assert "venice-nb-grid" not in htmls[-1] and texts(cap)[-1].startswith("3/3 done in")


def test_constructors_say_what_they_expected(server):
    from venice_nb.client import VeniceClient

    assert VeniceSession({"backend": "local"}).settings.backend == "local"
    with pytest.raises(TypeError, match=r"VeniceSession expects Settings or a dict .*got str"):
        VeniceSession("local")
    with pytest.raises(TypeError, match=r"the API key must be a string .* got int"):
        VeniceClient(123, base_url=server.base_url)
    with pytest.raises(TypeError, match=r"base URL must be a string like 'https://"):
        VeniceClient(KEY, base_url=5)


def test_run_sweep_checks_everything_before_sending(server):
    """A sweep from Python goes through the same preflight as the magic: one bad request (or a
    refused setting) stops it before the first request, not after the others were paid for."""
    from venice_nb.errors import ConfigurationError, ValidationError

    session = make_session(server)
    session.client().models()
    server.reset_counters()
    bad = Job(GenerateRequest(model="z-image-turbo", prompt="x", width=7))
    jobs = [*seed_jobs([1, 2]), bad]
    with pytest.raises(ValidationError):
        run_sweep(session, jobs)
    session.refuse("backend", "VeniceMagics.backend must be one of auto, venice, local")
    with pytest.raises(ConfigurationError, match="nothing runs while a setting is refused"):
        run_sweep(session, seed_jobs([1, 2]))
    assert server.generate_count == 0
