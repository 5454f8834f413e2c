"""The panel's per-tile toolbox: Edit…, Upscale 2x/4x, Remove background and Style ref, against a
LocalServer; derived images join the grid and the history with their source."""

from __future__ import annotations

from magics_harness import posts

from venice_nb.panel.app import Panel


class MenuEntry:
    """One entry of a tile's toolbox menu; ``click()`` chooses it, as a person does."""

    def __init__(self, menu, action: str) -> None:
        self.menu, self.action = menu, action

    def click(self) -> None:
        self.menu.value = self.action


def buttons(panel: Panel) -> dict[str, MenuEntry]:
    [actions] = [c for c in panel.grid.children[0].children if hasattr(c, "children")]
    [menu] = [c for c in actions.children if "venice-tools" in c._dom_classes]
    return {label: MenuEntry(menu, action) for label, action in menu.options if action}


def test_every_tile_has_the_toolbox(panel) -> None:
    assert list(buttons(panel)) == ["Edit…", "Upscale 2x", "Upscale 4x", "Remove bg", "Style ref"]
    [actions] = [c for c in panel.grid.children[0].children if hasattr(c, "children")]
    menu = actions.children[-1]
    buttons(panel)["Upscale 2x"].click()
    assert menu.value == ""  # back to its title, ready for the next choice
    assert panel.wait_idle(30)


def test_upscale_and_background_removal_join_grid_and_history(panel, local_server) -> None:
    source = panel.result.image
    buttons(panel)["Upscale 2x"].click()
    assert panel.wait_idle(30)
    assert posts(local_server)[-1] == "/image/upscale"
    assert panel.result.image.size == (1024, 1024)
    assert panel.result.lineage.sources[0].origin is source
    assert panel.result.lineage.source_labels() == ["#1 image 1"]
    buttons(panel)["Remove bg"].click()
    assert panel.wait_idle(30)
    assert posts(local_server)[-1] == "/image/background-remove"
    assert panel.result.image.to_pil().mode == "RGBA"
    # the cell was refilled with the upscale: its buttons act on the image shown now
    assert panel.result.lineage.source_labels() == ["#2 image 1"]
    assert panel.result.lineage.sources[0].size == (1024, 1024)
    assert [e.result.lineage.operation if e.result.lineage else "generate" for e in panel.entries] == [
        "generate", "upscale", "remove-background",
    ]  # fmt: skip
    panel.restore(1)  # back to the generation: its controls and images
    assert panel.result.lineage is None


def test_edit_asks_for_its_instruction_and_model_before_sending(panel, local_server) -> None:
    sent = len(posts(local_server))
    panel.prompt.value = "a gondola at dusk"  # the generation prompt is not an instruction
    buttons(panel)["Edit…"].click()
    form = panel.edit_form
    assert len(posts(local_server)) == sent  # nothing sent yet: the form asks first
    assert form.box.layout.display == "flex" and "#1 image 1" in form.title.value
    assert "firered-image-edit" in form.model.options
    form.send_button.click()  # an empty instruction is refused in the form
    assert len(posts(local_server)) == sent and "empty" in form.problem.value
    form.instruction.value = "make it night"
    form.send_button.click()
    assert panel.wait_idle(30)
    body = local_server.received[-1].body
    assert posts(local_server)[-1] == "/image/edit"
    assert body["prompt"] == "make it night" and body["model"] == form.model.value
    assert panel.result.lineage.operation == "edit"
    assert form.box.layout.display == "none"


def test_style_ref_is_used_by_the_next_generation(panel, local_server) -> None:
    buttons(panel)["Style ref"].click()
    assert "style reference" in panel.status.value and len(panel.style_refs) == 1
    panel.model.value = "krea-v2-medium"
    panel.generate_button.click()
    assert panel.wait_idle(30)
    body = local_server.received[-1].body
    assert posts(local_server)[-1] == "/image/generate"
    assert body["style_references"][0]["image"].startswith("data:image/")


def test_derived_tiles_say_what_they_are_and_show_transparency(panel) -> None:
    buttons(panel)["Remove bg"].click()
    assert panel.wait_idle(30)
    cell = panel.grid.children[0]
    picture, caption = cell.children[0], cell.children[1]
    assert "Background removal of #1 image 1" in caption.value or "of #1 image 1" in caption.value
    assert "seed" not in caption.value.split("·")[0]
    assert "venice-transparent" in picture._dom_classes  # the checkerboard, live too
    buttons(panel)["Upscale 2x"].click()
    assert panel.wait_idle(30)
    assert "Upscale 2x of #2 image 1" in panel.grid.children[0].children[1].value
