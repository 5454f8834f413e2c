"""Prompt search/replace and prompt lists (``venice_nb.prompts``), from the magic and alone."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from magics_harness import cell, fresh_shell

from venice_nb.errors import ValidationError
from venice_nb.prompts import PromptRow, load_prompts, search_replace
from venice_nb.result import SweepResult


@pytest.fixture(autouse=True)
def fresh(ip, server):
    with fresh_shell(ip, server):
        yield


def prompts_sent(server):
    return [r.body["prompt"] for r in server.received if r.path.endswith("/image/generate")]


# ---- search / replace ------------------------------------------------------------------------


def test_prompt_sr_every_value_is_a_column_first_included(ip, server):
    result, _ = cell(
        ip, '-m z-image-turbo -s 3 --prompt-sr "dusk,dawn,noon"', "a lighthouse at dusk"
    )
    assert isinstance(result, SweepResult)
    assert sorted(prompts_sent(server)) == sorted(
        ["a lighthouse at dusk", "a lighthouse at dawn", "a lighthouse at noon"]
    )
    assert [c.params["prompt"] for c in result.cells] == ["dusk", "dawn", "noon"]
    page = result._repr_mimebundle_()[0]["text/html"]
    assert "prompt=dawn" in page and "prompt: a lighthouse at dusk" in page


def test_prompt_sr_combines_with_another_axis(ip, server):
    result, _ = cell(ip, '-m z-image-turbo -s 1,2 --prompt-sr "red,blue"', "a red door")
    assert len(result.cells) == 4
    assert result.rows == "seed" and result.cols == "prompt"
    sent = {(r.body["seed"], r.body["prompt"]) for r in server.received if r.body}
    assert sent == {(1, "a red door"), (1, "a blue door"), (2, "a red door"), (2, "a blue door")}


def test_negative_sr_varies_the_negative_prompt(ip, server):
    result, _ = cell(ip, '-m venice-sd35 -s 5 --negative-sr "blurry,text"', "a fox\n---\nblurry")
    negatives = sorted(r.body["negative_prompt"] for r in server.received if r.body)
    assert negatives == ["blurry", "text"]
    assert [c.params["negative_prompt"] for c in result.cells] == ["blurry", "text"]


@pytest.mark.parametrize(
    "line, body, words",
    [
        ('--prompt-sr "dusk,dawn"', "a lighthouse at night", "'dusk' is not in the prompt"),
        ('--prompt-sr "dusk"', "a lighthouse at dusk", "needs the term to search"),
        ('--prompt-sr "dusk,,noon"', "a lighthouse at dusk", "empty value"),
        ('--negative-sr "blur,text"', "a fox", "not in the negative prompt"),
        ("--prompts nothing_named_so", "", "no variable and no file"),
        ('--prompts "/no/such/file.txt"', "", "no file"),
    ],
)
def test_bad_prompt_axes_are_one_line_before_any_request(ip, server, line, body, words):
    with pytest.raises(UsageError) as info:
        cell(ip, "-m z-image-turbo " + line, body or "\n")
    assert words in str(info.value)
    assert "\n" not in str(info.value)
    assert server.generate_count == 0


# ---- prompt lists ------------------------------------------------------------------------------


def test_prompts_from_a_list_variable_with_a_template_and_interpolation(ip, server):
    ip.user_ns["subjects"] = ["a cat", "a {animal}"]
    ip.user_ns["animal"] = "heron"
    result, _ = cell(ip, "-m z-image-turbo -s 4 --prompts subjects", "a watercolour of {prompt}")
    assert sorted(prompts_sent(server)) == ["a watercolour of a cat", "a watercolour of a heron"]
    assert len(result.cells) == 2


def test_prompts_body_without_slot_is_refused(ip, server):
    ip.user_ns["subjects"] = ["a cat"]
    with pytest.raises(UsageError, match=r"put \{prompt\}"):
        cell(ip, "-m z-image-turbo --prompts subjects", "a watercolour")
    assert server.generate_count == 0


def test_prompts_from_a_csv_file_carry_per_row_fields(ip, server, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "prompt,seed,model,negative_prompt,size\n"
        "a red kite,11,venice-sd35,blurry,512x384\n"
        "a blue kite,12,,,\n"
    )
    with capture_output():  # the line magic: a %%venice cell needs a body, this one has none
        ip.run_line_magic("venice", f"-m z-image-turbo --prompts={path}")
    bodies = sorted((r.body for r in server.received if r.body), key=lambda b: b["seed"])
    assert bodies[0]["model"] == "venice-sd35" and bodies[0]["width"] == 512
    assert bodies[0]["negative_prompt"] == "blurry" and bodies[0]["height"] == 384
    assert bodies[1]["model"] == "z-image-turbo" and bodies[1]["prompt"] == "a blue kite"


def test_load_prompts_text_file_skips_blank_and_comment_lines(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("# subjects\na cat\n\n  a dog  \n")
    assert [r.prompt for r in load_prompts(str(path))] == ["a cat", "a dog"]


class FakeSeries:  # what pandas offers, duck-typed
    def __init__(self, values):
        self.values = values

    def tolist(self):
        return list(self.values)


class FakeFrame:
    columns = ("prompt", "seed")

    def to_dict(self, orient):
        assert orient == "records"
        return [{"prompt": "a", "seed": 1.0}, {"prompt": "b", "seed": float("nan")}]


def test_load_prompts_duck_types_series_and_frames():
    assert [r.prompt for r in load_prompts(FakeSeries(["x", "y"]))] == ["x", "y"]
    rows = load_prompts(FakeFrame())
    assert rows[0].fields == (("seed", 1),) and rows[1].fields == ()


@pytest.mark.parametrize(
    "source, words",
    [
        ([], "empty"),
        ([1, 2], "not text"),
        (42, "got int"),
        ([{"prompt": "a", "seed": "x"}], "seed takes a whole number"),
        ([{"prompt": "a", "size": "big"}], "WIDTHxHEIGHT"),
    ],
)
def test_load_prompts_refuses_in_one_line(source, words):
    with pytest.raises(ValidationError, match=words):
        load_prompts(source)


def test_search_replace_merges_repeats_and_keeps_quoted_commas():
    assert search_replace("--prompt-sr", 'a,"b, c",a', "x a y", "prompt") == ["a", "b, c"]


def test_prompt_row_shows_as_its_prompt():
    assert str(PromptRow("a cat", (("seed", 1),), 0)) == "a cat"


@pytest.mark.parametrize(
    ("line", "words"),
    [("--seed 9,10,11", "--seed is swept, and the rows of 'dicts' carry their own seed"),
     ("--model z-image-turbo,flux-2-pro", "--model is swept, and the rows of 'dicts' carry")],
)  # fmt: skip
def test_a_row_field_that_is_also_swept_is_refused_before_sending(ip, server, line, words):
    """The row's seed used to win over the swept one: each prompt paid once per swept value, for
    the same image, labelled with seeds it did not have."""
    ip.user_ns["dicts"] = [
        {"prompt": "a fox", "seed": 1, "model": "z-image-turbo"},
        {"prompt": "an owl", "seed": 2, "model": "z-image-turbo"},
    ]
    with pytest.raises(UsageError, match=words):
        cell(ip, f"--prompts dicts {line} --no-cache", "{prompt}")
    assert prompts_sent(server) == []


def test_a_column_that_is_no_request_field_is_ignored_with_one_note():
    notes: list[str] = []
    rows = load_prompts([{"prompt": "a", "note": "x"}, {"prompt": "b", "seed": 2}], notes=notes)
    assert [r.prompt for r in rows] == ["a", "b"] and rows[1].fields == (("seed", 2),)
    assert len(notes) == 1 and "column 'note' ignored: not a request field" in notes[0]


@pytest.mark.parametrize("name", ["prompts.json", "prompts.yaml"])
def test_a_prompts_file_of_another_kind_is_refused_before_sending(ip, server, tmp_path, name):
    """A .json array used to be read line by line: two garbage prompts, paid."""
    (tmp_path / name).write_text('["a fox",\n "an owl"]\n')
    with pytest.raises(UsageError, match=r"is not read as prompts; give a \.txt file"):
        cell(ip, f"-m z-image-turbo --prompts {tmp_path / name}", "{prompt}")
    assert prompts_sent(server) == []
    (tmp_path / "plain").write_text("a fox\nan owl\n")
    assert [r.prompt for r in load_prompts(tmp_path / "plain")] == ["a fox", "an owl"]


def test_an_expression_for_prompts_says_to_give_a_variable_name(ip, server):
    with pytest.raises(UsageError, match="give the name of a variable"):
        cell(ip, "-m z-image-turbo --prompts df['prompt']", "{prompt}")
    assert prompts_sent(server) == []


def test_an_undefined_name_in_a_listed_prompt_names_the_row(ip, server):
    ip.user_ns["ps"] = ["a fox", "an owl in {wheree}"]
    with pytest.raises(UsageError, match="in prompt 2 of 'ps'"):
        cell(ip, "-m z-image-turbo --prompts ps", "{prompt}")
    assert prompts_sent(server) == []


def test_prompt_sr_says_when_it_merges_a_repeat(ip, server):
    _, cap = cell(ip, '-m z-image-turbo -s 3 --prompt-sr "dusk,dusk,dawn"', "a road at dusk")
    notes = " ".join(o.data["text/plain"] for o in cap.outputs)
    assert "--prompt-sr: repeated values merged (dusk x2); 2 values left" in notes
    assert len(prompts_sent(server)) == 2
