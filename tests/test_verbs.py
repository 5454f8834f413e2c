"""verbs.py: the one registry of toolbox operations and how each request is built from inputs
(one image without a quality is an edit, anything else a multi-edit; unknown words refused)."""

from __future__ import annotations

import pytest
from factories import encode

from venice_nb.errors import UnexpectedArgumentError, ValidationError
from venice_nb.operations.common import DEFAULT_EDIT_MODEL
from venice_nb.operations.edit import EditRequest
from venice_nb.operations.multi_edit import MultiEditRequest
from venice_nb.operations.upscale import UpscaleRequest
from venice_nb.verbs import TOOLS, WORDS, as_inputs, build_edit, edit_request, model_type

PNG, JPEG = encode("PNG", (64, 48)), encode("JPEG", (64, 48))


def test_one_registry_names_the_toolbox_for_every_surface() -> None:
    from venice_nb.magics import TOOLBOX_OPERATIONS
    from venice_nb.operations.request import TOOLBOX_OPERATIONS as OPERATIONS

    assert set(WORDS) == set(TOOLBOX_OPERATIONS)  # the words that start a %venice line
    assert {op for tool in TOOLS.values() for op in tool.operations} == set(OPERATIONS)
    assert model_type("multi-edit") == "inpaint" and model_type("remove-background") == "image"
    assert model_type("upscale") == "upscale" and WORDS["remove-bg"] is TOOLS["remove-background"]


def test_one_image_without_a_quality_is_an_edit_with_the_default_model() -> None:
    request = edit_request(as_inputs(PNG), "make it dusk")
    assert isinstance(request, EditRequest) and request.model == DEFAULT_EDIT_MODEL


def test_a_quality_or_a_second_image_makes_a_multi_edit() -> None:
    with_quality = build_edit(PNG, "make it dusk", quality="high")
    two = build_edit([PNG, JPEG], "put the cat on the sofa", labels=["sofa", "cat"])
    assert isinstance(with_quality, MultiEditRequest) and isinstance(two, MultiEditRequest)
    assert len(two.images) == 2


def test_an_unknown_argument_is_refused_by_name_with_a_hint() -> None:
    with pytest.raises(
        UnexpectedArgumentError, match="no argument 'qualty'; did you mean 'quality'"
    ):
        build_edit(PNG, "x", qualty="high")


def test_an_edit_of_no_image_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs at least one image"):
        edit_request([], "x", quality="high")


def test_a_tool_builds_its_request_from_checked_inputs() -> None:
    request = TOOLS["upscale"].build(as_inputs(PNG), scale=2, creativity=None)
    assert isinstance(request, UpscaleRequest) and request.scale == 2
