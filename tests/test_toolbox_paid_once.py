"""Nothing paid twice, in the toolbox too: repeated sweep values are merged with a note, and an
interrupted sweep keeps (binds, caches, shows) every answer that already landed.
"""

from __future__ import annotations

import _thread
import threading

import pytest
from magics_harness import cell, config, line, posts, restored_traits, seen, warm

from venice_nb.result import SweepResult
from venice_nb.run import GenerationCancelled


@pytest.fixture(autouse=True)
def fresh(ip, server):
    server.latency = 0.0
    with restored_traits(ip):
        warm(ip, server)
        cell(ip, "-m z-image-turbo -s 11 -W 256 -H 256 -o shot", "a red fox")
        server.reset_counters()
        yield
    server.latency = 0.0


@pytest.mark.parametrize(
    ("run_it", "sent", "note"),
    [
        (lambda ip: line(ip, "upscale shot --scale 2,2,4"), 2, "--scale: repeated values merged"),
        (lambda ip: line(ip, "upscale shot --scale 4,4"), 1, "--scale: repeated values merged"),
        (lambda ip: cell(ip, "edit -i shot -m qwen-image-2-edit,firered-image-edit,qwen-image-2-edit",
                         "make it night"), 2, "--model: repeated values merged"),
        (lambda ip: cell(ip, "edit -i shot", "make it night\n---\nmake it night\n---\nadd snow"), 2,
         "the instructions: repeated values merged"),
        (lambda ip: cell(ip, "edit -i shot -m nano-banana-2-edit -r 1K,1K", "make it night"), 1,
         "--resolution: repeated values merged"),
    ],
)  # fmt: skip
def test_repeated_toolbox_sweep_values_are_paid_once_with_a_note(ip, server, run_it, sent, note):
    _, cap = run_it(ip)
    assert len(posts(server)) == sent
    assert note in seen(cap)


def interrupt_when(server, requests: int) -> threading.Thread:
    """Ctrl-C in the kernel's thread once ``requests`` POSTs have reached the server."""

    def watch() -> None:
        for _ in range(400):  # bounded: 20 s at most
            if len([r for r in server.received if r.method == "POST"]) >= requests:
                _thread.interrupt_main()
                return
            threading.Event().wait(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
@pytest.mark.parametrize(
    "run_it",
    [
        lambda ip: line(ip, "upscale shot --scale 2,4 -o up"),
        lambda ip: cell(ip, "-m z-image-turbo -s 1:3 -W 256 -H 256 -o up", "a fox"),
        lambda ip: cell(ip, "edit -i shot -m qwen-image-2-edit,firered-image-edit -o up", "night"),
    ],
    ids=["upscale", "generation", "edit"],
)
def test_an_interrupted_sweep_binds_and_shows_what_already_landed(ip, server, run_it):
    config(ip, concurrency=1)
    server.latency = 0.4
    ip.user_ns.pop("up", None)
    watcher = interrupt_when(server, 2)  # the first answer landed, the second is in flight
    with pytest.raises(GenerationCancelled) as info:
        run_it(ip)
    watcher.join(5)
    partial = ip.user_ns["up"]
    assert isinstance(partial, SweepResult) and len(partial.results) >= 1
    assert info.value.partial is partial
    assert "kept" in str(info.value)


@pytest.mark.slow
def test_what_an_interrupt_dropped_is_sent_by_retry_failed_and_nothing_twice(ip, server):
    """Cells dropped before their request are failures retry_failed sends (they were blanks that
    neither retry_failed nor the repr saw); the one in flight lands in the bound result."""
    config(ip, concurrency=1)
    server.latency = 0.4
    ip.user_ns.pop("up", None)
    watcher = interrupt_when(server, 2)  # one landed, one in flight, one never sent
    with pytest.raises(GenerationCancelled) as info:
        cell(ip, "edit -i shot -m qwen-image-2-edit,firered-image-edit,flux-2-max-edit -o up", "x")
    watcher.join(5)
    message = str(info.value)
    assert "1 request not yet sent dropped (retry_failed() on the result sends them)" in message
    assert "1 already sent will still land in the bound result" in message
    up = ip.user_ns["up"]
    assert repr(up).startswith("<SweepResult 3 cells, 1 not sent")
    for _ in range(100):  # bounded: the request in flight comes back
        if len(up.results) == 2:
            break
        threading.Event().wait(0.05)
    assert len(up.results) == 2
    before = len(posts(server))
    server.latency = 0.0
    up.retry_failed()
    assert len(posts(server)) == before + 1  # only the dropped one; the landed two not again
    assert len(up.results) == 3 and not up.errors


@pytest.mark.slow
def test_an_interrupted_upscale_sweep_is_cached_so_the_rerun_pays_nothing(ip, server, tmp_path):
    config(ip, concurrency=1, cache_enabled=True, cache_dir=str(tmp_path / "cache"))
    server.latency = 0.4
    watcher = interrupt_when(server, 2)
    with pytest.raises(GenerationCancelled):
        line(ip, "upscale shot --scale 2,4 -o up")
    watcher.join(5)
    landed = ip.user_ns["up"].results[0]
    scale = landed.request.scale
    server.latency = 0.0
    before = len(posts(server))
    again, _ = line(ip, f"upscale shot --scale {scale} -o again")
    assert len(posts(server)) == before  # from the cache: not paid again
    assert again.images[0].data == landed.images[0].data


def test_a_rerun_edit_cell_is_free_and_says_so_and_no_cache_asks_for_a_new_take(
    ip, server, tmp_path
):
    config(ip, cache_enabled=True, cache_dir=str(tmp_path / "cache"))
    first, _ = cell(ip, "edit -i shot -m qwen-image-2-edit", "make it night")
    again, cap = cell(ip, "edit -i shot -m qwen-image-2-edit", "make it night")
    assert posts(server) == ["/image/edit"] and again.cached and not first.cached
    assert again.images[0].data == first.images[0].data
    assert "cached: no request, no cost" in seen(cap)
    fresh_take, _ = cell(ip, "edit -i shot -m qwen-image-2-edit --no-cache", "make it night")
    assert posts(server) == ["/image/edit"] * 2 and not fresh_take.cached
    cell(ip, "edit -i shot -i shot -m flux-2-max-edit", "twice the fox")
    cell(ip, "edit -i shot -i shot -m flux-2-max-edit", "twice the fox")
    assert posts(server)[2:] == ["/image/multi-edit"]


def test_the_cost_guard_counts_a_cached_edit_as_free(ip, server, tmp_path):
    from IPython.core.error import UsageError

    from venice_nb.session import get_session
    from venice_nb.verbs import build_edit

    config(ip, cache_enabled=True, cache_dir=str(tmp_path / "cache"))
    cell(ip, "edit -i shot -m qwen-image-2-edit", "make it night")
    line_ = "edit -i shot -m qwen-image-2-edit,firered-image-edit"
    prices = [
        get_session().estimated_cost(build_edit(ip.user_ns["shot"], "x", model))
        for model in ("qwen-image-2-edit", "firered-image-edit")
    ]
    assert all(prices)
    config(ip, cost_limit_usd=max(prices) + 0.001)  # one edit fits, two do not
    _, cap = cell(ip, line_, "make it night")
    assert "1 of 2 requests come from the cache (free); 1 will be sent" in seen(cap)
    assert len(posts(server)) == 2
    with pytest.raises(UsageError, match=r"cost about .*\(2 requests"):
        cell(ip, line_, "make it dawn")  # nothing cached: both would be paid
    assert len(posts(server)) == 2


@pytest.mark.slow
def test_an_interrupted_edit_sweep_is_cached_so_the_rerun_pays_only_the_rest(ip, server, tmp_path):
    config(ip, concurrency=1, cache_enabled=True, cache_dir=str(tmp_path / "cache"))
    server.latency = 0.4
    models = "qwen-image-2-edit,firered-image-edit"
    watcher = interrupt_when(server, 2)
    with pytest.raises(GenerationCancelled):
        cell(ip, f"edit -i shot -m {models} -o up", "make it night")
    watcher.join(5)
    landed = ip.user_ns["up"].results[0]
    server.latency = 0.0
    before = len(posts(server))
    again, _ = cell(ip, f"edit -i shot -m {landed.request.model}", "make it night")
    assert len(posts(server)) == before and again.cached  # paid once, kept on disk
    assert again.images[0].data == landed.images[0].data
