"""Batches (``venice_nb.batches``): to disk as they land, a manifest, resume, failures, refusals.

Against the real LocalServer (its fault injection gives the 429s, 5xx and dropped connections);
the kernel restart itself is in ``test_batch_kernel.py``.
"""

from __future__ import annotations

import _thread
import json
import threading
import time

import pytest
from IPython.core.error import UsageError
from magics_harness import KEY_FRAGMENT, cell, config, fresh_shell

import venice_nb
from venice_nb.batch_result import BatchResult
from venice_nb.batches import BatchCancelled
from venice_nb.errors import ValidationError, VeniceError
from venice_nb.result import SweepResult
from venice_nb.session import get_session


@pytest.fixture(autouse=True)
def fresh(ip, server):
    with fresh_shell(ip, server):
        yield


def sent(server):
    return [r.body for r in server.received if r.path.endswith("/image/generate")]


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


PROMPTS = [f"a paper boat number {i}" for i in range(40)]
SMALL = {"model": "z-image-turbo", "width": 256, "height": 256}


@pytest.mark.slow
def test_batch_saves_every_image_with_a_sidecar_and_a_manifest_row(ip, server, tmp_path):
    result = venice_nb.batch(PROMPTS, save=tmp_path / "b", **SMALL, seed=5)
    assert isinstance(result, BatchResult)
    assert result.manifest == tmp_path / "b" / "manifest.jsonl"
    manifest = rows(result.manifest)
    assert len(manifest) == 40 and {r["status"] for r in manifest} == {"done"}
    assert sorted(r["prompt"] for r in manifest) == sorted(PROMPTS)
    for row in manifest:
        assert row["seed"] == 5 and row["params"]["model"] == "z-image-turbo"
        assert row["params"]["width"] == 256
        image = tmp_path / "b" / row["files"][0]
        sidecar = json.loads(image.with_suffix(".json").read_text())
        assert sidecar["request"]["prompt"] == row["prompt"]
        assert row["error"] is None and row["cost"] > 0 and row["file"] == row["files"][0]
    assert len(result.images) == 40 and result.failed == []
    assert [r["prompt"] for r in result.rows] == PROMPTS  # the list's order (the file: arrival's)
    assert result.images[3].data == (tmp_path / "b" / result.rows[3]["file"]).read_bytes()
    assert len(sent(server)) == 40
    every = "".join(p.read_text(errors="replace") for p in (tmp_path / "b").rglob("*.json*"))
    assert KEY_FRAGMENT not in every


@pytest.mark.slow
def test_running_the_same_batch_again_sends_nothing(ip, server, tmp_path):
    venice_nb.batch(PROMPTS[:6], save=tmp_path, **SMALL)
    server.reset_counters()
    again = venice_nb.batch(PROMPTS[:6], save=tmp_path, **SMALL)
    assert server.generate_count == 0 and again.sent == 0
    assert len(again.done) == 6
    bigger = venice_nb.batch(PROMPTS[:8], save=tmp_path, **SMALL)
    assert server.generate_count == 2 and len(bigger.done) == 8


def test_batch_images_act_through_the_session_that_made_them(ip, server, tmp_path):
    result = venice_nb.batch(["a kite"], save=tmp_path, **SMALL)
    image = result.images[0]
    assert image.maker is get_session()
    bigger = image.upscale(2)
    assert bigger.images[0].size == (512, 512)


def test_the_same_prompt_twice_is_two_rows(ip, server, tmp_path):
    result = venice_nb.batch(["a kite", "a kite"], save=tmp_path, **SMALL)
    assert len(result.done) == 2 and len(sent(server)) == 2
    assert len({r["key"] for r in result.rows}) == 2


@pytest.mark.slow
def test_interrupt_keeps_what_landed_and_resume_sends_only_the_rest(ip, server, tmp_path):
    server.latency = 0.05
    landed = threading.Event()

    def interrupt_when_half_done():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            path = tmp_path / "manifest.jsonl"
            if path.exists() and sum('"done"' in x for x in path.read_text().splitlines()) >= 15:
                landed.set()
                _thread.interrupt_main()
                return
            time.sleep(0.02)

    threading.Thread(target=interrupt_when_half_done, daemon=True).start()
    with pytest.raises(BatchCancelled, match="run the cell again"):
        venice_nb.batch(PROMPTS, save=tmp_path, **SMALL, seed=9, display=False)
    assert landed.is_set()
    first = [b["prompt"] for b in sent(server)]
    done_first = [r for r in rows(tmp_path / "manifest.jsonl") if r["status"] == "done"]
    assert 15 <= len(done_first) < 40
    # the stop waited for what was already on the wire: every request sent is saved and recorded
    assert sorted(first) == sorted(r["prompt"] for r in done_first)
    assert all((tmp_path / r["file"]).exists() for r in done_first)
    result = venice_nb.batch(PROMPTS, save=tmp_path, **SMALL, seed=9, display=False)
    everything = [b["prompt"] for b in sent(server)]
    assert len(result.done) == 40
    assert sorted(set(everything)) == sorted(PROMPTS)
    repeats = len(everything) - len(set(everything))
    assert repeats <= get_session().settings.concurrency  # only those in flight at the interrupt
    assert len(everything) - len(first) == 40 - len(done_first)


def test_failed_rows_are_listed_and_retried_on_their_own(ip, server, tmp_path):
    config(ip, max_retries=0)
    server.inject("500", count=2)
    server.inject("drop", count=1)
    result = venice_nb.batch(PROMPTS[:5], save=tmp_path, **SMALL, concurrency=1)
    assert len(result.failed) == 3 and len(result.done) == 2
    assert all(r["status"] == "failed" and r["error"] for r in result.failed)
    page = result._repr_mimebundle_()["text/html"]
    assert "retry_failed()" in page and "3 not done" in page
    server.reset_counters()
    result.retry_failed()
    assert server.generate_count == 3 and result.failed == [] and len(result.done) == 5


def test_429_and_503_are_retried_inside_the_batch(ip, server, tmp_path):
    config(ip, max_retries=3)
    server.inject("429", count=2, retry_after=0.1)
    server.inject("503", count=1, retry_after=0.1)
    result = venice_nb.batch(PROMPTS[:6], save=tmp_path, **SMALL)
    assert len(result.done) == 6 and result.failed == []


def _under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / "batch"


def _manifest_a_directory(tmp_path):
    (tmp_path / "manifest.jsonl").mkdir()
    return tmp_path


def _manifest_links_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "manifest.jsonl").symlink_to(tmp_path / "file" / "manifest.jsonl")
    return tmp_path


@pytest.mark.parametrize(
    ("where", "text"),
    [
        (_under_a_file, "is under .*which is a file"),
        (_manifest_a_directory, "is a directory; the manifest must be a file"),
        (_manifest_links_under_a_file, "cannot read the manifest .*Not a directory"),
    ],
)
def test_an_unwritable_manifest_is_refused_before_anything_is_sent(
    ip, server, tmp_path, where, text
):
    """Places no one can write the manifest, root included (CI runs as root, and root writes
    read-only files): one line, and not one request sent."""
    directory = where(tmp_path)
    before = sorted(tmp_path.iterdir())
    with pytest.raises(ValidationError, match=text) as refused:
        venice_nb.batch(PROMPTS[:3], save=directory, **SMALL)
    assert "\n" not in refused.value.one_line()
    assert server.generate_count == 0
    assert sorted(tmp_path.iterdir()) == before  # nothing written: no images, no thumbs


def test_a_full_disk_is_refused_before_anything_is_sent(ip, server, tmp_path, monkeypatch):
    monkeypatch.setattr("venice_nb.batches.free_bytes", lambda directory: 1000)
    with pytest.raises(ValidationError, match="MB free"):
        venice_nb.batch(PROMPTS[:3], save=tmp_path, **SMALL)
    assert server.generate_count == 0 and not (tmp_path / "manifest.jsonl").exists()


def test_a_corrupt_manifest_is_refused_not_overwritten(ip, server, tmp_path):
    (tmp_path / "manifest.jsonl").write_text("not json\n")
    with pytest.raises(ValidationError, match="line 1 is not a manifest row"):
        venice_nb.batch(PROMPTS[:3], save=tmp_path, **SMALL)
    assert (tmp_path / "manifest.jsonl").read_text() == "not json\n"
    assert server.generate_count == 0


# ---- from the magic ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_cell_above_the_threshold_runs_as_a_batch(ip, server, tmp_path):
    ip.user_ns["boats"] = PROMPTS
    config(ip, batch_threshold=32)
    result, cap = cell(
        ip, f"-m z-image-turbo -W 256 -H 256 --prompts boats --save {tmp_path}", "{prompt}, ink"
    )
    assert isinstance(result, BatchResult) and len(result.done) == 40
    assert all(r["prompt"].endswith(", ink") for r in result.rows)
    status = [o.data["text/plain"] for o in cap.outputs]
    assert any("batch 40/40 done" in t for t in status)
    config(ip, batch_threshold=100)
    server.reset_counters()
    small, _ = cell(ip, "-m z-image-turbo -W 256 -H 256 --prompts boats", "{prompt}, pencil")
    assert isinstance(small, SweepResult) and server.generate_count == 40


def test_batch_on_request_and_resume_from_the_magic(ip, server, tmp_path):
    line = f"-m z-image-turbo -s 1:3 --batch {tmp_path / 'seeds'}"
    result, _ = cell(ip, line, "a lantern")
    assert isinstance(result, BatchResult) and len(result.done) == 3
    server.reset_counters()
    again, cap = cell(ip, line, "a lantern")
    assert server.generate_count == 0 and len(again.done) == 3
    notes = " ".join(o.data["text/plain"] for o in cap.outputs)
    assert "resuming: 3 of 3 requests are already done" in notes


def test_a_batch_cell_refuses_a_bad_option_like_any_cell(ip, server, tmp_path):
    """A batch goes through the cell's one sequence: its options are checked as a sweep's are."""
    with pytest.raises(UsageError, match="--thumb 7 is not a thumbnail size"):
        cell(ip, f"-m z-image-turbo -s 1:3 --thumb 7 --batch {tmp_path / 'b'}", "a lantern")
    assert server.generate_count == 0 and not (tmp_path / "b").exists()


def test_the_cell_sequence_is_written_once():
    """Notes, preflight and -o binding live in VeniceMagics._carry_out only (issue 19's rule):
    a batch, a sweep and a toolbox cell all go through it."""
    import inspect

    from venice_nb import magics

    source = inspect.getsource(magics)
    assert source.count("take_notice()") == 1 and source.count("show(notice_html(note)") == 1
    assert source.count("self.user_ns[output] = result") == 1
    assert not hasattr(magics.VeniceMagics, "_batch")


def test_the_cost_guard_sees_the_whole_batch(ip, server, tmp_path):
    ip.user_ns["boats"] = PROMPTS
    config(ip, cost_limit_usd=0.05)
    with pytest.raises(UsageError, match="add --yes"):
        cell(ip, f"-m z-image-turbo -W 256 -H 256 --prompts boats --batch {tmp_path}", "{prompt}")
    assert server.generate_count == 0


@pytest.mark.slow
def test_the_saved_gallery_stays_light(ip, server, tmp_path):
    result = venice_nb.batch(PROMPTS, save=tmp_path, model="z-image-turbo", width=1024, height=1024)
    page = result._repr_mimebundle_()["text/html"]
    assert page.count("<img") == 40
    assert len(page) / 40 < 8_000
    assert "http" not in page.replace("http-equiv", "")


@pytest.mark.slow
def test_contact_sheets_of_a_batch_and_a_sweep(ip, server, tmp_path):
    from PIL import Image

    result = venice_nb.batch(PROMPTS[:5], save=tmp_path / "b", **SMALL)
    png = result.contact_sheet(tmp_path / "sheet.png")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.width > 256
    page = result.contact_sheet(tmp_path / "sheet.html").read_text()
    assert page.count("<img") == 5 and "a paper boat number 3" in page
    assert 'src="http' not in page
    sweep, _ = cell(ip, '-m z-image-turbo -s 2 --prompt-sr "red,blue"', "a red door")
    jpg = sweep.contact_sheet(tmp_path / "grid.jpg")
    with Image.open(jpg) as im:
        assert im.format == "JPEG"
    html = sweep.contact_sheet(tmp_path / "grid.html").read_text()
    assert "prompt=blue" in html and "prompt: a red door" in html
    with pytest.raises(ValidationError, match=r"\.png, \.jpg or \.html"):
        sweep.contact_sheet(tmp_path / "grid.gif")


def test_through_the_fault_server_a_body_cut_short_fails_its_row_only(ip, server, tmp_path):
    """The scripted fault server answers what the local server cannot: a 200 whose body stops
    half way (the connection dropped mid-answer), mid-batch, and a bare 500."""
    import requests
    from fault_server import FaultServer, Reply

    catalogue = requests.get(f"{server.base_url}/models?type=image", timeout=10)
    answer = requests.post(
        f"{server.base_url}/image/generate",
        json={"model": "z-image-turbo", "prompt": "a boat", "width": 256, "height": 256},
        headers={"Authorization": "Bearer x"},
        timeout=10,
    )
    ok = Reply(body=answer.content)
    with FaultServer() as fs:
        fs.push(
            Reply(body=catalogue.content),
            ok,
            Reply(body=answer.content[:200], content_length=len(answer.content)),  # cut short
            ok,
            Reply(status=500, body={"error": "Inference processing failed"}),
            ok,
        )
        config(ip, base_url=fs.base_url, max_retries=0, concurrency=1)
        result = venice_nb.batch(PROMPTS[:5], save=tmp_path, **SMALL)
        assert [r["status"] for r in result.rows] == ["done", "failed", "done", "failed", "done"]
        assert "dropped" in result.rows[1]["error"]
        assert "Inference processing failed" in result.rows[3]["error"]
        before = fs.count
        fs.push(ok, ok)
        again = venice_nb.batch(PROMPTS[:5], save=tmp_path, **SMALL)
        assert fs.count - before == 2 and again.failed == [] and again.sent == 2


@pytest.mark.parametrize(
    "fields, words",
    [({"colour": "red"}, "'colour' is not a request field"), ({"sed": 1}, "seed"),
     ({"prompt": "x"}, "the prompts come from the list")],
)  # fmt: skip
def test_unknown_request_fields_are_refused_in_one_line(ip, server, tmp_path, fields, words):
    with pytest.raises(ValidationError, match=words):
        venice_nb.batch(["a kite"], save=tmp_path, **fields)
    assert server.generate_count == 0 and not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("prompts", "fields", "error", "words"),
    [(["a kite"], {"seed": "abc"}, TypeError, "batch\\(\\): seed must be an int, got str 'abc'"),
     (["a kite"], {"cfg_scale": "high"}, TypeError, "batch\\(\\): cfg_scale must be"),
     ("a kite over the sea", {}, ValidationError, "prompts is a string but no file")],
)  # fmt: skip
def test_python_mistakes_are_told_in_python_words(
    ip, server, tmp_path, prompts, fields, error, words
):
    with pytest.raises(error, match=words):
        venice_nb.batch(prompts, save=tmp_path, **fields)
    assert server.generate_count == 0 and not any(tmp_path.iterdir())


def test_a_refused_batch_leaves_no_directory_behind(ip, server, tmp_path):
    ip.user_ns["boats"] = PROMPTS
    config(ip, cost_limit_usd=0.05)
    with pytest.raises(UsageError, match="add --yes"):
        cell(ip, f"-m z-image-turbo --prompts boats --batch {tmp_path / 'new' / 'dir'}", "{prompt}")
    assert list(tmp_path.iterdir()) == []


# ---- audit fixes: folder, breaker, disk, merges, Stop, the gallery, the cost guard ---------------


def test_the_default_folder_survives_a_prompt_added_so_only_it_is_sent(ip, server, tmp_path):
    """The default folder was named by every request: one prompt added or fixed re-paid all."""
    config(ip, save_dir=str(tmp_path), batch_threshold=3)
    ip.user_ns["boats"] = PROMPTS[:4]
    first, cap = cell(ip, "-m z-image-turbo -W 256 -H 256 --prompts boats", "{prompt}, ink")
    notes = " ".join(o.data["text/plain"] for o in cap.outputs)
    assert f"batch folder: {first.directory}" in notes
    assert "more than VeniceMagics.batch_threshold (3): running as a resumable batch" in notes
    ip.user_ns["boats"] = [*PROMPTS[:4], "a paper kite"]
    server.reset_counters()
    again, _ = cell(ip, "-m z-image-turbo -W 256 -H 256 --prompts boats", "{prompt}, ink")
    assert again.directory == first.directory and server.generate_count == 1
    assert len(again.done) == 5
    server.reset_counters()
    py = venice_nb.batch(PROMPTS[:2], **SMALL, display=False)
    more = venice_nb.batch(PROMPTS[:3], **SMALL, display=False)
    assert more.directory == py.directory and server.generate_count == 3


def test_batch_and_save_naming_two_folders_is_refused(ip, server, tmp_path):
    with pytest.raises(UsageError, match="drop --save"):
        cell(ip, f"-m z-image-turbo -s 1:3 --batch {tmp_path / 'a'} --save {tmp_path / 'b'}", "x")
    assert server.generate_count == 0 and not any(tmp_path.iterdir())


def test_identical_requests_with_a_seed_are_paid_once(ip, server, tmp_path):
    result = venice_nb.batch(["a fox"] * 3 + ["an owl"], save=tmp_path, **SMALL, seed=1)
    assert len(sent(server)) == 2 and len(result.done) == 2


@pytest.mark.slow
def test_a_dead_server_stops_the_batch_quickly_and_leaves_the_rest_pending(ip, server, tmp_path):
    """The breaker (network.in_round) stops a batch as a whole, as it does a sweep: each row
    used to wait out its own retries (80 prompts: 122 s, 59 rows failed)."""
    from venice_nb.server import LocalServer

    doomed = LocalServer(auth=False, latency=0.05).start()

    def kill_after_two():
        path = tmp_path / "manifest.jsonl"
        while not path.exists() or len(path.read_text().splitlines()) < 2:
            time.sleep(0.01)
        doomed.stop()

    threading.Thread(target=kill_after_two, daemon=True).start()
    config(ip, base_url=doomed.base_url, max_retries=4, concurrency=2)
    started = time.monotonic()
    result = venice_nb.batch(PROMPTS, save=tmp_path, **SMALL, display=False)
    assert time.monotonic() - started < 15
    recorded = rows(tmp_path / "manifest.jsonl")
    assert len([r for r in recorded if r["status"] == "done"]) >= 2
    assert len([r for r in recorded if r["status"] == "failed"]) <= 3
    assert len([r for r in result.rows if r["status"] == "pending"]) > 30
    assert "stopped: the server is not answering" in result._repr_mimebundle_()["text/plain"]
    assert doomed.generate_count < 10
    with doomed:  # the server is back: the same batch sends only the rest
        config(ip, base_url=doomed.base_url)
        again = venice_nb.batch(PROMPTS, save=tmp_path, **SMALL, display=False)
    assert len(again.done) == 40 and again.sent == 40 - len(result.done)


def test_a_full_disk_mid_batch_stops_in_one_line_and_keeps_what_landed(
    ip, server, tmp_path, monkeypatch
):
    """The manifest write failing (ENOSPC) was re-raised as a bug, a chained traceback."""
    import errno

    from venice_nb.manifest import Manifest

    real = Manifest.update
    calls = []

    def update(self, new_rows):
        calls.append(1)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, new_rows)

    monkeypatch.setattr(Manifest, "update", update)
    result = venice_nb.batch(PROMPTS[:20], save=tmp_path, **SMALL, concurrency=1, display=False)
    assert len(rows(tmp_path / "manifest.jsonl")) == 3
    assert len(sent(server)) <= 5
    monkeypatch.undo()
    run_text = result._repr_mimebundle_()["text/plain"]
    assert "3/20 done" in run_text and "stopped: could not record: the disk is full" in run_text
    assert "run the batch again to send the rest" in run_text
    server.reset_counters()
    again = venice_nb.batch(PROMPTS[:20], save=tmp_path, **SMALL, display=False)
    assert len(again.done) == 20 and server.generate_count == 16  # the 4th, saved, not resent


def test_stop_binds_what_landed_to_o_and_the_exception_carries_it(ip, server, tmp_path):
    server.latency = 0.05
    ip.user_ns["boats"] = PROMPTS

    def interrupt_when_some_landed():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            path = tmp_path / "manifest.jsonl"
            if path.exists() and len(path.read_text().splitlines()) >= 3:
                _thread.interrupt_main()
                return
            time.sleep(0.02)

    threading.Thread(target=interrupt_when_some_landed, daemon=True).start()
    with pytest.raises(BatchCancelled) as stop:
        cell(
            ip,
            f"-m z-image-turbo -W 256 -H 256 --prompts boats --batch {tmp_path} -o res",
            "{prompt}",
        )
    assert isinstance(stop.value.partial, BatchResult) and ip.user_ns["res"] is stop.value.partial
    assert len(stop.value.partial.done) >= 3 and len(stop.value.partial.rows) == 40


def test_a_python_batch_keeps_its_gallery_in_the_saved_output(ip, server, tmp_path):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        venice_nb.batch(PROMPTS[:3], save=tmp_path, **SMALL, display=True)
    last = [o.data.get("text/html", "") for o in cap.outputs][-1]
    assert last.count("<img") == 3


def test_the_cost_guard_applies_from_python_and_yes_confirms(ip, server, tmp_path):
    config(ip, cost_limit_usd=0.05)
    with pytest.raises(VeniceError, match="pass yes=True to run it") as refused:
        venice_nb.batch(PROMPTS, save=tmp_path, **SMALL)
    assert "\n" not in refused.value.one_line() and server.generate_count == 0
    result = venice_nb.batch(PROMPTS[:2], save=tmp_path, **SMALL, yes=True)
    assert len(result.done) == 2


def test_save_of_the_wrong_type_names_the_parameter(ip, server):
    with pytest.raises(TypeError, match="batch\\(\\): save must be a folder path"):
        venice_nb.batch(["a kite"], save=123)
    assert server.generate_count == 0


def test_retry_failed_says_what_it_sent_and_updates_sent(ip, server, tmp_path, capsys):
    config(ip, max_retries=0)
    server.inject("500", count=1)
    result = venice_nb.batch(PROMPTS[:3], save=tmp_path, **SMALL, concurrency=1)
    assert len(result.failed) == 1
    capsys.readouterr()
    result.retry_failed()
    assert result.sent == 1 and "retry_failed: 1 sent; 3/3 done" in capsys.readouterr().out
    result.retry_failed()
    assert "nothing sent" in capsys.readouterr().out


def test_the_local_preview_line_does_not_call_its_prices_spent(ip, server, tmp_path):
    from venice_nb.batches import BatchRun
    from venice_nb.jobs import Job

    session = get_session()
    run = BatchRun(session, [Job(session.build_request(prompt="a kite", **SMALL), {})], tmp_path)
    run.prepare()
    run.run(display=False)
    text = run.progress_text(final=True)
    if getattr(session, "backend", None) == "local":
        assert "at the service's prices; nothing is charged on the local preview" in text
    assert "spent (local preview" not in text


def test_the_eta_counts_down_between_answers(ip, server, tmp_path):
    from venice_nb.batches import BatchRun
    from venice_nb.jobs import Job

    session = get_session()
    jobs = [Job(session.build_request(prompt=p, **SMALL), {}) for p in PROMPTS[:4]]
    run = BatchRun(session, jobs, tmp_path)
    run.prepare()
    run._started = time.perf_counter() - 10
    run.landed = 1
    first = run.eta_s()
    run._eta = (run._eta[0], run._eta[1], run._eta[2] - 2)  # two seconds later, no answer
    assert first is not None and run.eta_s() == pytest.approx(first - 2, abs=0.1)


def test_batch_contact_sheet_labels_carry_the_swept_values_and_failed_tiles(ip, server, tmp_path):
    config(ip, max_retries=0)
    server.inject("500", count=1)
    result, _ = cell(
        ip, f"-m z-image-turbo -W 256 -H 256 -s 1:3 --batch {tmp_path / 'b'}", "a kite"
    )
    page = result.contact_sheet(tmp_path / "sheet.html").read_text()
    assert "(seed=2)" in page and "(seed=3)" in page
    assert page.count("failed") >= 1 and page.count("<figure>") == 3
    sweep, _ = cell(ip, "-m z-image-turbo -W 256 -H 256 -s 1,2", "a kite")
    server.inject("500", count=1)
    sweep, _ = cell(ip, "-m z-image-turbo -W 256 -H 256 -s 4,5 --no-cache", "a kite")
    grid = sweep.contact_sheet(tmp_path / "grid.html").read_text()
    assert grid.count("<figure>") == 2 and "failed" in grid


def test_a_rerun_adopts_whole_saved_sets_without_rows_and_resends_a_half_set(ip, server, tmp_path):
    """A kill between a request's files and its manifest row: a whole set on disk is recorded,
    not bought again; half a set of variants (killed between two files) is sent again."""
    venice_nb.batch(PROMPTS[:2], save=tmp_path, **SMALL, variants=2, display=False)
    (tmp_path / "manifest.jsonl").unlink()  # neither row was written
    half = sorted(tmp_path.glob("0001-*-2.*"))  # the first request's second variant and sidecar
    assert [p.suffix for p in half] == [".json", ".webp"]
    for path in half:
        path.unlink()
    server.reset_counters()
    again = venice_nb.batch(PROMPTS[:2], save=tmp_path, **SMALL, variants=2, display=False)
    assert server.generate_count == 1 and len(again.done) == 2
    assert [body["prompt"] for body in sent(server)] == [PROMPTS[0]]
    recorded = {r["prompt"]: r for r in rows(tmp_path / "manifest.jsonl")}
    assert recorded[PROMPTS[1]].get("recovered") is True
    assert not recorded[PROMPTS[0]].get("recovered")
