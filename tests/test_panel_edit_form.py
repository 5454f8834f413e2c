"""panel/edit_form.py: the panel's Edit… asks for the instruction and the model before anything
is sent (end to end through the panel and the local server: test_panel_toolbox.py)."""

from __future__ import annotations

from factories import encode

from venice_nb.operations.common import DEFAULT_EDIT_MODEL
from venice_nb.panel.edit_form import EditForm
from venice_nb.result import GeneratedImage

IMAGE = GeneratedImage.from_bytes(encode("PNG", (64, 48)), seed=5)


def _form(models: list[str] | None = None) -> tuple[EditForm, list[tuple]]:
    sent: list[tuple] = []
    form = EditForm(
        models if models is not None else ["qwen-edit", DEFAULT_EDIT_MODEL],
        lambda *a: sent.append(a) or "sent",
    )
    return form, sent


def test_hidden_until_asked_and_nothing_sent_by_asking() -> None:
    form, sent = _form()
    assert form.box.layout.display == "none"
    form.ask(IMAGE, "#3 image 1")
    assert form.box.layout.display == "flex" and "<b>Edit #3 image 1</b>" in form.title.value
    assert sent == [] and form.model.value == DEFAULT_EDIT_MODEL  # the default, when listed


def test_an_empty_instruction_is_refused_in_the_form() -> None:
    form, sent = _form()
    form.ask(IMAGE, "#1 image 1")
    form.instruction.value = "   "
    form.send_button.click()
    assert sent == [] and "the instruction is empty" in form.problem.value
    assert form.box.layout.display == "flex"  # still open, to be filled in


def test_send_edit_sends_once_with_the_chosen_model_and_closes() -> None:
    form, sent = _form()
    form.ask(IMAGE, "#1 image 1")
    form.instruction.value = " make it night "
    form.model.value = "qwen-edit"
    assert form.submit() == "sent"
    assert sent == [(IMAGE, "make it night", "qwen-edit")]
    assert form.box.layout.display == "none"
    assert form.submit() is None and len(sent) == 1  # a second click sends nothing


def test_cancel_closes_without_sending() -> None:
    form, sent = _form()
    form.ask(IMAGE, "#1 image 1")
    form.instruction.value = "make it night"
    form.cancel_button.click()
    assert form.box.layout.display == "none" and form.submit() is None and sent == []


def test_without_a_model_list_the_default_model_is_offered() -> None:
    form, _ = _form([])
    assert list(form.model.options) == [DEFAULT_EDIT_MODEL]
    form, _ = _form(["only-this"])
    assert form.model.value == "only-this"
    form.close()
