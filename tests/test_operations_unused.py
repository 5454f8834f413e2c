"""operations/unused.py: a toolbox field the chosen model does not use is dropped with one
warning each (the generation rule), judged against the real catalogue's edit rows."""

from __future__ import annotations

import json

import pytest
from factories import encode
from shared_data import CATALOGUE_PATH

from venice_nb.catalogue import Catalogue
from venice_nb.operations.unused import unused_fields, without_unused
from venice_nb.verbs import as_inputs, edit_request, upscale_request

REAL = Catalogue.from_json(json.loads(CATALOGUE_PATH.read_text()))
INPUTS = as_inputs(encode("PNG", (64, 48)))


def test_fields_a_model_has_no_levels_for_are_named_with_why() -> None:
    request = edit_request(INPUTS, "make it night", "firered-image-edit", resolution="2K")
    assert unused_fields(request, REAL["firered-image-edit"]) == {
        "resolution": "firered-image-edit has no resolution tiers and ignores --resolution"
    }
    assert unused_fields(request, REAL["nano-banana-2-edit"]) == {}  # it has 1K/2K/4K


def test_the_unused_fields_are_left_out_with_one_warning_each() -> None:
    request = edit_request(
        INPUTS, "make it night", "firered-image-edit", resolution="2K", quality="high"
    )
    kept, warnings, ignored = without_unused(request, REAL["firered-image-edit"])
    assert (kept.resolution, kept.quality, kept.prompt) == (None, None, "make it night")
    assert set(ignored) == {"resolution", "quality"} and len(warnings) == 2
    assert all(w.endswith(": not sent") for w in warnings)


@pytest.mark.parametrize("spec", [None, REAL["gpt-image-2-edit"]])
def test_nothing_is_dropped_without_a_model_row_or_for_a_model_that_uses_it(spec) -> None:
    request = edit_request(INPUTS, "x", "gpt-image-2-edit", resolution="2K", quality="low")
    assert without_unused(request, spec) == (request, (), {})


def test_only_edits_are_reviewed() -> None:
    upscale = upscale_request(INPUTS, scale=2)
    assert unused_fields(upscale, REAL["firered-image-edit"]) == {}
