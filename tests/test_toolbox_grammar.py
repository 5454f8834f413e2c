"""One grammar for generation and toolbox cells: the same words, the same option rules, the same
messages, over a real local server (every refusal sends nothing).
"""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from magics_harness import cell, posts, restored_traits, run, seen, warm

import venice_nb


@pytest.fixture(autouse=True)
def fresh(ip, server):
    with restored_traits(ip):
        warm(ip, server)
        cell(ip, "-m z-image-turbo -s 11 -W 256 -H 256 -o shot", "a red fox")
        server.reset_counters()
        yield


def refused(ip, source: str) -> str:
    outcome, cap = run(ip, source)
    assert isinstance(outcome.error_in_exec, UsageError), seen(cap)
    message = str(outcome.error_in_exec)
    assert "\n" not in message
    return message


# ---- mistyped operation words ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "meant"),
    [
        ("%venice upscael shot", "upscale"),
        ("%venice remove-backgrund shot", "remove-background"),
        ("%venice edti -i shot make it night", "edit"),
        ("%%venice upscael -i shot\nsharper", "upscale"),
        ("%%venice edti -i shot\nmake it night", "edit"),
        ("%venice background-remove shot", "remove-background"),
        ("%venice remove_background shot", "remove-background"),
        ("%%venice multi_edit -i shot -i shot\nmerge", "multi-edit"),
    ],
)
def test_a_mistyped_operation_suggests_from_the_toolbox_and_lists_it(ip, server, source, meant):
    message = refused(ip, source)
    assert f"did you mean '{meant}'" in message
    for word in ("edit", "upscale", "remove-background", "models", "styles"):
        assert word in message
    assert posts(server) == []


def test_a_mistyped_subcommand_still_suggests_the_subcommand(ip):
    assert "did you mean 'models'" in refused(ip, "%venice modles")


# ---- options given twice, repeatable options ----------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "%%venice edit -i shot -m qwen-image-2-edit -m firered-image-edit\nmake it night",
        "%venice upscale shot --scale 2 --scale 4",
        "%venice upscale shot --creativity 0.01 --creativity 0.02",
        "%%venice edit -i shot -a 1:1 --aspect-ratio 16:9\nmake it night",
        "%venice remove-background shot -o a -o b",
    ],
)
def test_a_single_valued_toolbox_option_given_twice_is_refused_as_in_generation(ip, server, source):
    message = refused(ip, source)
    assert "is given twice" in message and "once" in message
    assert posts(server) == []
    # the generation cell's words for the same mistake
    assert "is given twice" in refused(ip, "%%venice -m z-image-turbo -s 1 -s 2\na fox")


def test_the_refusal_offers_the_comma_list_where_the_toolbox_option_sweeps(ip):
    message = refused(ip, "%venice upscale shot --scale 2 --scale 4")
    assert message.startswith("--scale is given twice ('2' and '4'); give --scale once")
    assert "(a comma list sweeps: --scale 2,4)" in message
    generation = refused(ip, "%%venice -m z-image-turbo -s 1 -s 2\na fox")
    assert "(a comma list sweeps: --seed 1,2)" in generation  # the same words


def test_the_refusal_offers_no_list_where_the_toolbox_option_does_not_sweep(ip):
    """--aspect-ratio sweeps in a generation cell, not in an edit: no hint that would be refused."""
    message = refused(ip, "%%venice edit -i shot -a 16:9 --aspect-ratio 1:1\nmake it night")
    assert message == "--aspect-ratio is given twice ('16:9' and '1:1'); give --aspect-ratio once"
    edit_models = refused(ip, "%%venice edit -i shot -m qwen-image-2-edit -m firered-image-edit\nx")
    assert "(a comma list sweeps: --model qwen-image-2-edit,firered-image-edit)" in edit_models


def test_repeatable_options_are_not_refused(ip, server):
    cell(ip, "edit -i shot -i shot -m flux-2-max-edit -o both", "merge them")
    assert posts(server) == ["/image/multi-edit"] and len(server.received[-1].body["images"]) == 2
    cell(ip, "-m krea-v2-medium --style-ref shot --style-ref shot -W 256 -H 256 -s 2", "a castle")
    assert len(server.received[-1].body["style_references"]) == 2


def test_an_unknown_toolbox_option_is_worded_as_in_generation(ip):
    message = refused(ip, "%venice upscale shot --sacle 4")
    assert message.startswith("unknown option '--sacle' for upscale; did you mean '--scale'")
    assert refused(ip, "%%venice -m z-image-turbo --sede 4\na fox").startswith(
        "unknown option '--sede'; did you mean '--seed'"
    )


# ---- options the chosen model does not use -----------------------------------------------


@pytest.mark.parametrize(
    ("line", "field", "warning"),
    [
        ("edit -i shot -m firered-image-edit -r 2K", "resolution",
         "firered-image-edit has no resolution tiers and ignores --resolution: not sent"),
        ("edit -i shot -m firered-image-edit -q high", "quality",
         "firered-image-edit has no quality levels and ignores --quality: not sent"),
    ],
)  # fmt: skip
def test_an_option_the_edit_model_ignores_warns_and_is_not_sent(ip, server, line, field, warning):
    result, cap = cell(ip, line + " -o edited", "make it night")
    assert warning in seen(cap)
    assert field not in server.received[-1].body and result.images


def test_sweeping_an_ignored_option_is_refused_as_in_generation(ip, server):
    message = refused(ip, "%%venice edit -i shot -m firered-image-edit -r 1K,2K\nmake it night")
    assert "cannot sweep --resolution" in message and posts(server) == []


def test_a_style_ref_strength_the_model_ignores_warns_and_is_not_sent(ip, server):
    _, cap = cell(
        ip,
        "-m luma-uni-1 --style-ref shot --style-ref-strength 0.7 -s 2 -o styled",
        "a castle",
    )
    assert "luma-uni-1 ignores --style-ref-strength: not sent" in seen(cap)
    (ref,) = server.received[-1].body["style_references"]
    assert "strength" not in ref and ref["image"].startswith("data:image/")


def test_python_edit_drops_what_the_model_ignores_too(ip, server):
    shot = ip.user_ns["shot"]
    from venice_nb.session import get_session

    result = venice_nb.edit(
        shot, "make it night", model="firered-image-edit", resolution="2K", session=get_session()
    )
    assert result.images and "resolution" not in server.received[-1].body


def test_a_client_made_image_drops_what_the_model_ignores_too(server):
    from venice_nb.client import VeniceClient
    from venice_nb.operations.generate import GenerateRequest

    with VeniceClient("sk-grammar-client-0123456789", base_url=server.base_url) as client:
        shot = client.generate(
            GenerateRequest(model="z-image-turbo", prompt="a fox", seed=2, width=256, height=256)
        )
        edited = shot.images[0].edit("make it night", model="firered-image-edit", resolution="2K")
    assert edited.images and "resolution" not in server.received[-1].body
