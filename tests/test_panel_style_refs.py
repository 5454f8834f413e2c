"""Held style references: visible and removable in the panel's form, and never a reason to refuse
a Generate (a model without style references gets the request without them, with a one-line note;
the references wait for a model that takes them)."""

from __future__ import annotations

from magics_harness import posts
from test_panel_toolbox import buttons

from venice_nb.panel.app import Panel


def chips(panel: Panel) -> list[str]:
    return [c.description for c in panel.held_refs.chips.children]


def test_a_held_reference_shows_in_the_form_and_can_be_removed(panel) -> None:
    assert panel.held_refs.box.layout.display == "none"  # nothing held: no row
    assert panel.held_refs.box in panel.controls.box.children
    buttons(panel)["Style ref"].click()
    assert panel.held_refs.box.layout.display == "flex"
    assert chips(panel) == ["\u2715 #1 image 1"]
    panel.held_refs.chips.children[0].click()  # the chip's own remove button
    assert chips(panel) == [] and panel.style_refs == []
    assert panel.held_refs.box.layout.display == "none"


def test_a_model_without_style_references_is_not_refused_for_them(panel, local_server) -> None:
    buttons(panel)["Style ref"].click()
    assert panel.model.value == "z-image-turbo"  # the default takes no style references
    assert "kept aside" in panel.held_refs.label.value
    assert "takes no style references" in panel.cost.value
    job = panel.generate()
    assert job is not None, panel.status_text
    assert "kept aside" in panel.status_text
    assert panel.wait_idle(30) and panel.status_state == "ok", panel.status_text
    body = local_server.received[-1].body
    assert posts(local_server)[-1] == "/image/generate" and "style_references" not in body
    # kept for when a model takes them again
    assert len(panel.style_refs) == 1
    panel.model.value = "krea-v2-medium"
    assert "kept aside" not in panel.held_refs.label.value
    panel.generate()
    assert panel.wait_idle(30) and panel.status_state == "ok", panel.status_text
    assert local_server.received[-1].body["style_references"][0]["image"].startswith("data:")
