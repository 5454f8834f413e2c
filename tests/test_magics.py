"""``%%venice`` through a real InteractiveShell against a LocalServer: options, body, output, errors."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from IPython.core.error import UsageError
from magics_harness import (
    KEY,
    assert_no_key,
    cell,
    config,
    fresh_shell,
    magics,
    run,
    seen,
    texts,
    warm,
)

from venice_nb.magics import VeniceRunError
from venice_nb.result import GenerationResult
from venice_nb.server import LocalServer
from venice_nb.session import get_session


@pytest.fixture(autouse=True)
def fresh(ip, server):
    with fresh_shell(ip, server):
        yield


def last_body(server):
    return server.received[-1].body


# ---- every option reaches the wire ------------------------------------------------------------


def test_pixel_model_options_reach_the_wire(ip, server):
    line = (
        '-m venice-sd35 -W 512 -H 768 -f png -n 2 -s 7 -c 5.5 --steps 8 --style "Analog Film" '
        "--no-safe-mode --hide-watermark --embed-exif --lora-strength 40 --enhance-prompt "
        '--negative "blurry, text"'
    )
    result, cap = cell(ip, line, "a red fox in the snow")
    assert isinstance(result, GenerationResult)
    assert last_body(server) == {
        "model": "venice-sd35",
        "prompt": "a red fox in the snow",
        "negative_prompt": "blurry, text",
        "width": 512,
        "height": 768,
        "format": "png",
        "variants": 2,
        "seed": 7,
        "cfg_scale": 5.5,
        "steps": 8,
        "style_preset": "Analog Film",
        "safe_mode": False,
        "hide_watermark": True,
        "embed_exif_metadata": True,
        "lora_strength": 40,
        "enhance_prompt": True,
    }
    assert server.received[-1].path.endswith("/image/generate")
    assert [im.format for im in result.images] == ["png", "png"]
    assert result.images[0].size == (512, 768)
    assert_no_key(seen(cap), repr(result))


def test_tiered_model_options_reach_the_wire(ip, server):
    cell(ip, "-m gpt-image-2 -a 16:9 -r 2K -q low -f jpeg --yes", "a lighthouse")
    assert last_body(server) == {
        "model": "gpt-image-2",
        "prompt": "a lighthouse",
        "aspect_ratio": "16:9",
        "resolution": "2K",
        "quality": "low",
        "format": "jpeg",
    }


def test_web_search_and_binary_reach_the_wire(ip, server):
    cell(ip, "-m nano-banana-2 --web-search -a 1:1", "today's weather in Venice")
    assert last_body(server)["enable_web_search"] is True
    result, _ = cell(ip, "--binary -s 3 -W 256 -H 256", "a fox")
    assert last_body(server) == {
        "model": "z-image-turbo",
        "prompt": "a fox",
        "width": 256,
        "height": 256,
        "seed": 3,
        "return_binary": True,
    }
    assert len(result.images) == 1 and result.seed == 3


def test_defaults_fill_model_and_format_and_unset_fields_are_not_sent(ip, server):
    config(ip, default_model="qwen-image-2", default_format="jpeg")
    cell(ip, "", "a gondola")
    assert last_body(server) == {"model": "qwen-image-2", "prompt": "a gondola", "format": "jpeg"}


# ---- the body ---------------------------------------------------------------------------------


def test_negative_prompt_below_three_dashes(ip, server):
    cell(ip, "-m qwen-image-2", "a gondola at dusk\n\n---\nblurry, watermark\n")
    body = last_body(server)
    assert body["prompt"] == "a gondola at dusk"
    assert body["negative_prompt"] == "blurry, watermark"


def test_interpolation_with_code_and_json_in_the_prompt(ip, server):
    ip.user_ns["time_of_day"] = "dusk"
    ip.user_ns["scene"] = SimpleNamespace(place="a narrow canal")
    body = (
        "A photo of {scene.place} at {time_of_day}; a sign reads "
        '{"lang": "it", "n": [1, 2]} and code def f(x): return {x+1} {0} {} {{time_of_day}}'
    )
    cell(ip, "", body)
    assert last_body(server)["prompt"] == (
        "A photo of a narrow canal at dusk; a sign reads "
        '{"lang": "it", "n": [1, 2]} and code def f(x): return {x+1} {0} {} {time_of_day}'
    )


def test_negative_prompt_is_interpolated_too(ip, server):
    ip.user_ns["avoid"] = "text"
    cell(ip, "-m qwen-image-2", "a fox\n---\nno {avoid}")
    assert last_body(server)["negative_prompt"] == "no text"


def test_result_is_returned_bound_and_shown_as_the_persisted_grid(ip, server):
    outcome, cap = run(ip, "%%venice -s 11 -o shot\na red fox")
    result = ip.user_ns["shot"]
    assert outcome.success and outcome.result is result
    data, metadata = ip.display_formatter.format(result)
    assert "data:image/webp;base64," in data["text/html"]
    assert "seed 11" in data["text/html"]
    assert metadata["venice_nb"]["request"] == {
        "model": "z-image-turbo",
        "prompt": "a red fox",
        "seed": 11,
    }
    # The magic itself shows only its status line: the grid is the cell's result, shown once.
    assert not any("<img" in o.data.get("text/html", "") for o in cap.outputs)
    status = texts(cap)
    assert status[0].startswith("z-image-turbo · generating 1 image")
    assert status[-1].startswith("1 image in")
    assert_no_key(seen(cap), json.dumps(metadata, default=str), data["text/html"], repr(result))


def test_status_line_is_one_display_updated_in_place(ip, server):
    server.latency = 0.6
    _, cap = cell(ip, "-s 2", "a fox")
    first, *updates = cap.outputs
    assert not first.update and updates and all(o.update for o in updates)
    ids = {o.transient.get("display_id") for o in cap.outputs}
    assert len(ids) == 1 and None not in ids
    assert "venice-nb-status" in first.data["text/html"]
    assert any(re.search(r"generating 1 image · \d+ s$", t) for t in texts(cap))
    assert "venice-nb-done" in updates[-1].data["text/html"]


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_retries_show_in_the_status_line(ip, server):
    config(ip, max_retries=1)
    warm(ip, server)
    server.inject("429", count=1, retry_after=1)
    result, cap = cell(ip, "-s 4", "a fox")
    assert result.retries == 1
    assert any(re.search(r"HTTP 429.*retrying in 1\.\d s \(1/1\)", t) for t in texts(cap))
    assert server.generate_count == 2


# ---- -o, --save, --openai, cache --------------------------------------------------------------


def test_save_writes_images_and_sidecars_without_the_key(ip, server, tmp_path):
    target = tmp_path / "out"
    result, cap = cell(ip, f"-n 2 -s 9 -f png --save {target}", "a fox")
    images = sorted(target.glob("*.png"))
    sidecars = sorted(target.glob("*.json"))
    assert len(images) == 2 and len(sidecars) == 2
    from PIL import Image

    with Image.open(images[1]) as saved:
        assert saved.size == result.images[1].size and saved.format == "PNG"
    sidecar = json.loads(sidecars[0].read_text())
    assert sidecar["request"]["seed"] == 9 and sidecar["request"]["prompt"] == "a fox"
    assert any(f"saved 2 images (+ .json sidecars) to {target}" in t for t in texts(cap))
    for path in target.iterdir():
        assert KEY.encode() not in path.read_bytes()
        assert b"7f3a9c2e5b1d" not in path.read_bytes()


def test_save_without_a_directory_uses_the_configured_one(ip, server, tmp_path):
    config(ip, save_dir=str(tmp_path / "default"))
    cell(ip, "-s 12 --save", "a fox")
    assert len(list((tmp_path / "default").glob("*.webp"))) == 1


def test_save_into_a_file_is_refused_before_any_request(ip, server, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        cell(ip, f"--save {blocker}", "a fox")
    assert server.request_count == 0


def test_openai_route_maps_size_and_moderation(ip, server):
    result, _ = cell(ip, "--openai -W 512 -H 512 -f png --no-safe-mode", "a fox")
    record = server.received[-1]
    assert record.path.endswith("/images/generations")
    assert record.body == {
        "prompt": "a fox",
        "model": "z-image-turbo",
        "size": "512x512",
        "output_format": "png",
        "moderation": "low",
    }
    assert result.route == "openai" and result.images[0].format == "png"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("--openai -s 3", "--openai cannot send --seed"),
        ("--openai -n 2", "one image per request"),
        ("--openai -W 800 -H 800", "takes only the sizes"),
        ("--openai --style Anime", "--openai cannot send --style"),
    ],
)
def test_openai_refuses_what_it_cannot_do(ip, server, line, fragment):
    with pytest.raises(UsageError, match=fragment):
        cell(ip, line, "a fox")
    assert server.request_count == 0


def test_seeded_results_come_from_the_cache_unless_no_cache(ip, server, tmp_path):
    config(ip, cache_enabled=True, cache_dir=str(tmp_path / "cache"))
    warm(ip, server)
    first, _ = cell(ip, "-s 21", "a cached fox")
    second, cap = cell(ip, "-s 21", "a cached fox")
    assert not first.cached and second.cached
    assert second.images[0].data == first.images[0].data
    assert server.generate_count == 1
    assert any("cached" in t for t in texts(cap))
    third, _ = cell(ip, "-s 21 --no-cache", "a cached fox")
    assert not third.cached and server.generate_count == 2
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes()


# ---- leniency: what the model ignores is named once and not sent ------------------------------


IGNORED_CELLS = [
    (
        "-m qwen-image-2 -W 512",
        "width",
        "qwen-image-2 is sized by aspect ratio and ignores --width",
    ),
    ("-m z-image-turbo -r 2K", "resolution", "z-image-turbo is sized in pixels and ignores"),
    ("-m qwen-image-2 -a 5:4", "aspect_ratio", "does not offer aspect ratio '5:4'"),
    ("-m z-image-turbo --steps 60", "steps", "z-image-turbo ignores --steps"),
    ("-m nano-banana-pro -s 42", "seed", "nano-banana-pro ignores --seed"),
    ("--web-search", "enable_web_search", "does not search the web"),
    ("--negative blurry", "negative_prompt", "ignores the negative prompt"),
]


@pytest.mark.parametrize(("line", "field", "warning"), IGNORED_CELLS)
def test_ignored_fields_warn_once_and_are_not_sent(ip, server, line, field, warning):
    result, cap = cell(ip, line, "a fox")
    assert isinstance(result, GenerationResult)
    assert field not in last_body(server) and last_body(server)["prompt"] == "a fox"
    notes = [t for t in texts(cap) if warning in t]
    assert len(notes) == 1 and notes[0].endswith("not sent")
    assert result.warnings == () or result.warnings == (notes[0],)


def test_an_unlisted_model_is_sent_with_a_note_and_its_404_suggests(ip, server):
    outcome, cap = run(ip, "%%venice -m qwen-image2\na fox")
    notes = [t for t in texts(cap) if "'qwen-image2' is not in the model list" in t]
    assert len(notes) == 1 and "did you mean 'qwen-image-2'" in notes[0]
    assert isinstance(outcome.error_in_exec, VeniceRunError)
    assert "did you mean 'qwen-image-2'" in str(outcome.error_in_exec).lower()
    assert server.received[-1].body["model"] == "qwen-image2"  # sent as asked, answered 404


def test_openai_route_sends_a_fallback_id_with_a_note(ip, server):
    result, cap = cell(ip, "--openai -m dall-e-3", "a fox")
    assert server.received[-1].path.endswith("/images/generations")
    assert last_body(server)["model"] == "dall-e-3" and result.images
    notes = [t for t in texts(cap) if "'dall-e-3' is not in Venice's catalogue" in t]
    assert len(notes) == 1 and "z-image-turbo" in notes[0]


def test_openai_size_on_a_ratio_model_is_named_and_not_sent(ip, server):
    _, cap = cell(ip, "--openai -m qwen-image-2 -W 1024 -H 1024", "a fox")
    assert "size" not in last_body(server) and last_body(server)["model"] == "qwen-image-2"
    assert any("ignores the OpenAI size (-W/-H): not sent" in t for t in texts(cap))


def test_seed_is_never_claimed_on_a_seed_ignoring_model(ip, server):
    result, _ = cell(ip, "-m nano-banana-pro -n 2 -s 5", "a fox")
    assert "seed" not in last_body(server)
    assert result.seed is None and [im.seed for im in result.images] == [None, None]
    assert result.provenance()["seed"] is None
    seeded, _ = cell(ip, "-m qwen-image-2 -n 2 -s 5", "a fox")
    assert [im.seed for im in seeded.images] == [5, None]  # variants after the first are random


# ---- bad input: one line, no request ----------------------------------------------------------


BAD = [
    ("--sead 3", "a fox", "unknown option '--sead'; did you mean '--seed'"),
    ("-m nano-banana-2 -r 8K", "a fox", "does not offer resolution '8K'"),
    ("-m gpt-image-2 -q ultra", "a fox", "--quality must be one of low, medium, high"),
    ("-m z-image-turbo --steps 4,8", "a fox", "cannot sweep --steps: z-image-turbo ignores"),
    ("-m nano-banana-pro -s 1:3", "a fox", "cannot sweep --seed: nano-banana-pro ignores --seed"),
    ("-m z-image-turbo,venice-sd35 --steps 4,8", "a fox", "cannot sweep --steps"),
    ("-W 2048", "a fox", "--width must be a whole number from 1 to 1280"),
    ("-H 0", "a fox", "--height must be a whole number from 1 to 1280"),
    ("-W 512,768", "a fox", "takes one whole number"),
    ("-n 5", "a fox", "--variants must be 1 to 4"),
    ("-n 0", "a fox", "--variants must be 1 to 4"),
    ("-n 2 --binary", "a fox", "--binary returns a single image"),
    ("-c 0", "a fox", "--cfg-scale must be above 0 and at most 20"),
    ("-c 20.5", "a fox", "--cfg-scale must be above 0 and at most 20"),
    ("-c high", "a fox", "--cfg-scale takes numbers"),
    ("-s 1000000000", "a fox", "--seed must be a whole number from -999,999,999"),
    ("--seed=-1000000000", "a fox", "--seed must be a whole number from -999,999,999"),
    ("-s 5:1", "a fox", "ends before it starts"),
    ('--style "Anlog Film"', "a fox", "did you mean 'Analog Film'"),
    ("-f gif", "a fox", "--format must be one of"),
    ("-m venice-sd35 --steps 99", "a fox", "above venice-sd35's maximum"),
    ("", "   \n\n", "the prompt is empty"),
    ("-m venice-sd35", "x" * 1501, "venice-sd35 takes at most 1,500"),
    ("", "a fox at {undefined_thing}", "name 'undefined_thing' is not defined"),
    ("--negative blurry", "a fox\n---\ntext", "two negative prompts"),
    ("-o 1bad", "a fox", "not a valid variable name"),
    ("--style 'Anime", "a fox", "unbalanced quotes"),
    ("a red fox", "x", "the prompt goes in the cell body"),
    ("-s 1,2 --panel", "a fox", "one value per option"),
]


@pytest.mark.parametrize(("line", "body", "fragment"), BAD, ids=[b[0] or b[1][:10] for b in BAD])
def test_bad_input_is_one_line_and_sends_nothing(ip, server, line, body, fragment):
    outcome, cap = run(ip, f"%%venice {line}\n{body}")
    assert isinstance(outcome.error_in_exec, UsageError)
    assert type(outcome.error_in_exec) is UsageError  # shown by IPython without a traceback
    assert fragment in cap.stderr, cap.stderr
    assert cap.stderr.startswith("UsageError: ") and cap.stderr.count("\n") == 1
    assert "Traceback" not in cap.stdout + cap.stderr
    assert server.request_count == 0
    assert_no_key(seen(cap))


# ---- server errors: one line ------------------------------------------------------------------


def _failing_cell(ip, source):
    outcome, cap = run(ip, source)
    assert isinstance(outcome.error_in_exec, VeniceRunError)
    lines = [line for line in cap.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, cap.stdout
    assert "Traceback" not in cap.stdout + cap.stderr
    assert re.match(r"failed after \d+(\.\d+)? m?s$", texts(cap)[-1])
    assert_no_key(seen(cap))
    return lines[0]


def test_bad_key_is_one_line_with_what_to_do(ip):
    with LocalServer(api_keys={"only-this-key-is-good"}) as strict:
        config(ip, base_url=strict.base_url)
        line = _failing_cell(ip, "%%venice -s 1\na fox")
        assert "VeniceError" in line and "%venice login" in line
        assert strict.generate_count == 1


def test_empty_balance_is_one_line(ip):
    with LocalServer(balance_usd=0.0) as broke:
        config(ip, base_url=broke.base_url)
        line = _failing_cell(ip, "%%venice -s 1\na fox")
        assert "Top up your Venice balance" in line


def test_capacity_and_rate_limit_after_retries_are_one_line(ip, server):
    server.inject("503", count=1)
    assert "at capacity" in _failing_cell(ip, "%%venice -s 1\na fox")
    server.inject("429", count=1, retry_after=7)
    assert "Try again in 7 s" in _failing_cell(ip, "%%venice -s 1\na fox")


def test_content_violation_is_shown_blocked_and_not_charged(ip, server):
    result, cap = cell(ip, "-s 1", "violation-test: something")
    assert result.content_violation and result.cost_usd == 0.0
    assert "blocked by the content policy" in texts(cap)[-1]
    assert "did not charge" in texts(cap)[-1]
    data, _ = ip.display_formatter.format(result)
    assert "blocked" in data["text/html"]


def test_keys_never_appear_in_reprs(ip):
    assert_no_key(repr(magics(ip)), repr(get_session()), repr(get_session().client()))
    assert "****60" in repr(get_session())


def test_thumb_sets_this_outputs_thumbnail_size_only(ip, server):
    result, _ = cell(ip, "-W 256 -H 256 -s 3 --thumb 96", "a small fox")
    html = ip.display_formatter.format(result)[0]["text/html"]
    assert re.search(r'<img [^>]*width="96" height="96"', html)
    other, _ = cell(ip, "-W 256 -H 256 -s 4", "a small fox")
    html = ip.display_formatter.format(other)[0]["text/html"]
    assert not re.search(r'<img [^>]*width="96"', html)
    with pytest.raises(UsageError, match=r"--thumb 5 is not a thumbnail size"):
        cell(ip, "--thumb 5", "a fox")


def test_a_jpeg_shown_at_half_size_is_shown_not_lost(ip, server):
    """A 1024 px JPEG previewed at 512: libjpeg's draft lands on the size exactly (it used to be
    encoded after its file was closed: an AssertionError after the image was paid for)."""
    config(ip, preview_size=512)
    outcome, _ = run(ip, "%%venice -m z-image-turbo -f jpeg --seed 4 -o jpeg_shot\na red fox")
    assert outcome.success, outcome.error_in_exec
    shot = ip.user_ns["jpeg_shot"]
    assert shot.images[0].format == "jpeg" and shot.images[0].size == (1024, 1024)
    data, _ = ip.display_formatter.format(shot)  # what the cell's output shows
    assert 'src="data:image/jpeg;base64,' in data["text/html"]
    assert server.generate_count == 1
