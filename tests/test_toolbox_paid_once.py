"""Nothing paid twice, in the toolbox too: repeated sweep values are merged with a note, and an
interrupted sweep keeps (binds, caches, shows) every answer that already landed.
"""

from __future__ import annotations

import _thread
import threading

import pytest
from magics_harness import cell, config, restored_traits, seen, warm

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


def posts(server) -> list[str]:
    return [r.path.rsplit("/api/v1", 1)[-1] for r in server.received if r.method == "POST"]


def line(ip, text: str):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        result = ip.run_line_magic("venice", text)
    return result, cap


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
