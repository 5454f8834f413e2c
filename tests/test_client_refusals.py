"""Fewer images than variants (venice-api.md 0b.15) and the lists the catalogue owns (0b.16), read by
the client end to end: the Python API, the fault server's exact bodies and the magic."""

from __future__ import annotations

import base64
import re

import pytest
from factories import encode
from fault_server import FaultServer, Reply
from magics_harness import assert_no_key, cell, restored_traits, run, seen, texts, warm

from venice_nb import errors as E
from venice_nb.client import VeniceClient
from venice_nb.display.html import result_html
from venice_nb.operations.generate import GenerateRequest
from venice_nb.server import LocalServer

KEY = "sk-refusal-canary-0123456789"


def client_for(server: LocalServer | FaultServer) -> VeniceClient:
    return VeniceClient(KEY, base_url=server.base_url, read_timeout=10)


def req(**kw: object) -> GenerateRequest:
    return GenerateRequest(**{"model": "z-image-turbo", "prompt": "a fox", **kw})  # type: ignore[arg-type]


def b64png(colour=(200, 30, 90)) -> str:
    return base64.b64encode(encode("png", (16, 16), colour)).decode()


# ---- the Python API against the exact bodies -----------------------------------------------------


def test_partly_refused_answer_pins_no_image_to_the_seed() -> None:
    body = {
        "id": "generate-image-1",
        "images": [b64png(), b64png((10, 10, 10))],
        "content_policy_violation_count": 1,
        "request": {"data": {"seed": 77}},
    }
    with FaultServer() as fs, client_for(fs) as client:
        fs.push(Reply(200, body, headers={"x-venice-is-content-violation": "false"}))
        result = client.generate(req(seed=77, variants=3))
    assert len(result.images) == 2 and result.refused == 1
    assert [im.seed for im in result.images] == [None, None]  # which variant went is not said
    assert result.seed == 77 and not result.content_violation
    assert result.refused_note == (
        "Venice's content policy refused 1 of 3 variants (2 shown); which ones is not said, "
        "so no image is tied to the seed"
    )
    assert "refused 1 of 3 variants" in result_html(result)


def test_unrefused_answer_still_pins_the_first_image() -> None:
    body = {"id": "g", "images": [b64png(), b64png()], "request": {"data": {"seed": 5}}}
    with FaultServer() as fs, client_for(fs) as client:
        fs.push(Reply(200, body))
        result = client.generate(req(seed=5, variants=2))
    assert [im.seed for im in result.images] == [5, None] and result.refused == 0
    assert result.refused_note is None


def test_all_refused_is_a_content_policy_outcome_not_a_garbled_answer() -> None:
    body = {"id": "g", "images": [], "content_policy_violation_count": 2, "timing": {}}
    with FaultServer() as fs, client_for(fs) as client:
        fs.push(Reply(200, body, headers={"CF-RAY": "abc-LCL"}))
        with pytest.raises(E.ContentRefusedError) as caught:
            client.generate(req(variants=2))
        assert fs.count == 1  # not retried: the same prompt would be refused (and maybe billed)
    err = caught.value
    assert isinstance(err, E.ContentPolicyError) and err.refused == 2
    assert err.one_line() == (
        "Venice's content policy refused all 2 variants of this request; no image came back. "
        "Rephrase the prompt; the same prompt is likely to be refused again."
    )
    assert "unexpected" not in err.one_line()


def test_an_empty_list_without_the_count_is_still_garbled() -> None:
    with FaultServer() as fs, client_for(fs) as client:
        fs.push(Reply(200, {"id": "g", "images": []}))
        with pytest.raises(E.InvalidResponseError):
            client.generate(req())


def test_refusals_over_real_http_from_the_local_server(local_server: LocalServer) -> None:
    with client_for(local_server) as client:
        client.models()  # the prices
        result = client.generate(req(prompt="refuse-one-test fox", variants=2, seed=3))
        assert len(result.images) == 1 and result.refused == 1 and result.images[0].seed is None
        assert result.cost_usd == pytest.approx(0.01)  # the one shown
        local_server.inject("refused", images=1)
        faulted = client.generate(req(variants=3, seed=4))
        assert len(faulted.images) == 2 and faulted.refused == 1
        with pytest.raises(E.ContentRefusedError, match="refused the variant of this request"):
            client.generate(req(prompt="refuse-all-test fox"))


def test_a_partly_refused_answer_from_the_cache_keeps_its_note(local_server, tmp_path) -> None:
    from factories import live_session

    session = live_session(local_server.base_url, tmp_path, KEY, cache_enabled=True,
                           cache_dir=str(tmp_path / "cache"))  # fmt: skip
    request = req(prompt="refuse-one-test fox", variants=3, seed=6)
    first = session.generate(request)
    again = session.generate(request)
    assert again.cached and local_server.generate_count == 1
    assert (first.refused, again.refused) == (1, 1)
    assert again.refused_note == first.refused_note and "refused 1 of 3" in result_html(again)
    # the first picture is not "random": the request's seed reproduces the set
    assert "random seed" not in result_html(first)
    assert "variant 1 \u00b7 not reproducible alone" in result_html(first)


# ---- the lists the catalogue owns ----------------------------------------------------------------


def test_edit_ratios_and_ids_come_from_the_catalogue(local_server: LocalServer) -> None:
    from venice_nb.images_in import to_input
    from venice_nb.operations import EditRequest, MultiEditRequest

    image = to_input(encode("png", (320, 256)))
    with client_for(local_server) as client:
        request = client.validate_operation(
            EditRequest(image, "x", model="muse-image-edit", aspect_ratio="4:3")
        )
        result = client.edit(request)
        assert result.images[0].size == (1024, 768)
        with pytest.raises(E.ValidationError, match="does not offer aspect ratio '4:3'"):
            client.validate_operation(EditRequest(image, "x", aspect_ratio="4:3"))
        before = local_server.generate_count
        with pytest.raises(E.ValidationError, match="luma-uni-1-edit does not combine images"):
            client.validate_operation(MultiEditRequest([image], "x", model="luma-uni-1-edit"))
        assert local_server.generate_count == before  # refused before anything was sent


# ---- through the magic ---------------------------------------------------------------------------


def test_magic_shows_a_partly_refused_result(ip, server) -> None:
    with restored_traits(ip):
        warm(ip, server)
        result, cap = cell(ip, "-n 3 -s 9 -o part", "refuse-one-test: a fox")
    assert len(result.images) == 2 and result.refused == 1
    html = ip.display_formatter.format(result)[0]["text/html"]
    assert "refused 1 of 3 variants (2 shown)" in html
    assert_no_key(seen(cap))


def test_magic_all_refused_is_one_line(ip, server) -> None:
    from venice_nb.run import VeniceRunError

    with restored_traits(ip):
        warm(ip, server)
        outcome, cap = run(ip, "%%venice -n 2\nrefuse-all-test: a fox")
    assert isinstance(outcome.error_in_exec, VeniceRunError)
    lines = [line for line in cap.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and "content policy refused all 2 variants" in lines[0]
    assert "unexpected" not in lines[0] and "Traceback" not in cap.stdout + cap.stderr
    assert re.match(r"failed after", texts(cap)[-1])
    assert server.generate_count == 1


def test_magic_edit_with_four_three_and_multi_edit_combine(ip, server) -> None:
    from IPython.core.error import UsageError

    with restored_traits(ip):
        warm(ip, server)
        cell(ip, "-m z-image-turbo -s 11 -o src", "a red fox")
        server.reset_counters()
        result, _ = cell(ip, "edit -i src -m muse-image-edit --aspect-ratio 4:3", "night")
        assert result.images[0].size == (1024, 768)
        assert server.received[-1].body["aspect_ratio"] == "4:3"
        server.reset_counters()
        with pytest.raises(UsageError, match="luma-uni-1-edit does not combine images"):
            cell(ip, "edit -i src -i src -m luma-uni-1-edit", "merge")
        assert server.generate_count == 0
