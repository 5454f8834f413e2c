"""Bad input on every surface: one line naming the problem and the fix, and not one request.

One table, run through a real InteractiveShell with venice_nb loaded and aimed at a LocalServer.
The catalogue and styles are fetched before each case and the server's counters reset, so
``request_count == 0`` afterwards proves the refusal happened before any HTTP request of any kind.

Surfaces: ``%%venice`` cells and ``%venice`` lines (what IPython shows: one ``UsageError:`` line,
no traceback, no other output), ``%config VeniceMagics.x = y`` (the one logged error line; the
setting keeps its value), the panel (constructor refusals and the status line after a click, equal
to the magic's message for the same input) and the Python API (``VeniceError`` with a one-line
``str``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from IPython.core.error import UsageError
from magics_harness import magics, restored_traits, run, texts, warm

from venice_nb.client import VeniceClient
from venice_nb.errors import VeniceError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.session import VeniceSession, get_session

PROMPT = "a red fox in the snow"
LONG = "x" * 1501  # venice-sd35 takes 1,500 characters


@dataclass(frozen=True)
class Bad:
    """One bad input. ``source`` is cell text (magic), a setting (config) or a callable."""

    id: str
    surface: str  # "magic" | "config" | "panel" | "api"
    source: Any
    expect: str  # a distinctive piece of the message: the problem or the fix
    same_as: str | None = None  # a cell whose UsageError message this one must equal


def cell(line: str, body: str = PROMPT) -> str:
    return f"%%venice {line}\n{body}"


# ---- the panel ---------------------------------------------------------------------------------


def panel_init(**initial: Any) -> Callable[[VeniceSession], str]:
    """Opening a panel with these starting values is refused."""

    def attempt(session: VeniceSession) -> str:
        from venice_nb.panel.app import Panel

        with pytest.raises(VeniceError) as info:
            Panel(session=session, **initial).close()
        return info.value.one_line()

    return attempt


def panel_click(**values: Any) -> Callable[[VeniceSession], str]:
    """A valid panel, then widgets set to ``values`` and Generate clicked: the status says no."""

    def attempt(session: VeniceSession) -> str:
        from venice_nb.panel.app import Panel

        model = values.pop("model", "z-image-turbo")
        panel = Panel(session=session, model=model, seed=7)
        try:
            for name, value in values.items():
                getattr(panel, name).value = value
            panel.generate_button.click()
            assert panel.wait_idle(10)
            assert panel.status_state == "error", panel.status_text
            assert panel.result is None and not panel.grid.children  # nothing shown, nothing stale
            return panel.status_text
        finally:
            panel.close()

    return attempt


# ---- the Python API ----------------------------------------------------------------------------


def api_check(**fields: Any) -> Callable[[VeniceSession], str]:
    """``GenerateRequest(...).check()``: the spec's own rules, no catalogue."""

    def attempt(_session: VeniceSession) -> str:
        with pytest.raises(VeniceError) as info:
            GenerateRequest(**{"model": "z-image-turbo", "prompt": PROMPT, **fields}).check()
        return str(info.value)

    return attempt


def api_validate(**fields: Any) -> Callable[[VeniceSession], str]:
    """``client.validate(request)``: the model's and the styles' rules too."""

    def attempt(session: VeniceSession) -> str:
        request = GenerateRequest(**{"model": "z-image-turbo", "prompt": PROMPT, **fields})
        with pytest.raises(VeniceError) as info:
            session.client().validate(request)
        return str(info.value)

    return attempt


def api_raises(fn: Callable[[VeniceSession], Any]) -> Callable[[VeniceSession], str]:
    def attempt(session: VeniceSession) -> str:
        with pytest.raises(VeniceError) as info:
            fn(session)
        return str(info.value)

    return attempt


def _generate_sd35_1000(session: VeniceSession) -> Any:
    return session.generate(GenerateRequest(model="venice-sd35", prompt=PROMPT, width=1000))


# ---- the table ---------------------------------------------------------------------------------

CASES = [
    # magic options: types and ranges
    Bad("width-not-a-number", "magic", cell("-W abc"), "takes one whole number, got 'abc'"),
    Bad("seed-fraction", "magic", cell("-s 1.5"), "--seed takes whole numbers, got '1.5'"),
    Bad("cfg-zero", "magic", cell("-c 0"), "--cfg-scale must be above 0 and at most 20"),
    Bad("cfg-25", "magic", cell("-c 25"), "at most 20, got 25"),
    Bad("seed-too-big", "magic", cell("-s 1000000000"), "from -999,999,999 to 999,999,999"),
    Bad("variants-5", "magic", cell("-n 5"), "for more images sweep seeds"),
    Bad("variants-0", "magic", cell("-n 0"), "--variants must be 1 to 4, got 0"),
    Bad("lora-101", "magic", cell("--lora-strength 101"), "--lora-strength must be 0 to 100"),
    Bad("height-2000", "magic", cell("-H 2000"), "--height must be a whole number from 1 to 1280"),
    Bad("steps-0", "magic", cell("--steps 0"), "--steps must be a whole number >= 1"),
    Bad("steps-above-model", "magic", cell("-m venice-sd35 --steps 31"), "maximum of 30"),
    # magic options: model-specific sizing
    Bad("sd35-width-1000", "magic", cell("-m venice-sd35 -W 1000"), "multiple of 16"),
    Bad("sweep-ignored-steps", "magic", cell("--steps 4,8"), "cannot sweep --steps"),
    Bad("sweep-ignored-seed", "magic", cell("-m nano-banana-pro -s 1,2"), "cannot sweep --seed"),
    Bad(
        "emoji-over-limit", "magic", cell("-m venice-sd35", "\U0001f6f6" * 751), "1,502 characters"
    ),
    Bad("nano-8k", "magic", cell("-m nano-banana-2 -r 8K"), "(offered: 1K, 2K, 4K)"),
    Bad("quality-ultra", "magic", cell("-m gpt-image-2 -q ultra"), "low, medium, high"),
    # unknown names
    Bad("style-typo", "magic", cell("--style Cinematc"), "did you mean 'Cinematic'"),
    Bad("format-gif", "magic", cell("-f gif"), "one of webp, png, jpeg, got 'gif'"),
    Bad("unknown-option", "magic", cell("--colour red"), "unknown option '--colour'"),
    Bad("unknown-subcommand", "magic", "%venice modles", "did you mean 'models'"),
    Bad("prompt-on-the-line-magic", "magic", "%venice a red fox", "write %%venice (two %)"),
    Bad("subcommand-args", "magic", "%venice config all", "takes no arguments"),
    Bad(
        "panel-line-model-typo",
        "magic",
        "%venice panel -m qwen-image2",
        "did you mean 'qwen-image-2'",
    ),
    # contradictory flags
    Bad("binary-variants", "magic", cell("--binary -n 2"), "drop --binary or use --variants 1"),
    Bad("openai-variants", "magic", cell("--openai -n 2"), "drop --variants or sweep --seed"),
    Bad("openai-seed", "magic", cell("--openai --seed 3"), "--openai cannot send --seed"),
    Bad("openai-700", "magic", cell("--openai -W 700 -H 700"), "700x700 is not one"),
    Bad(
        "two-negatives",
        "magic",
        cell("--negative blurry", f"{PROMPT}\n---\ntext"),
        "two negative prompts",
    ),
    # a single-valued option given twice (argparse would keep the last without a word)
    Bad("seed-twice", "magic", cell("--seed 1 --seed 2"), "--seed is given twice ('1' and '2')"),
    Bad("negative-twice", "magic", cell("--negative a --negative b"), "give --negative once"),
    Bad("model-short-and-long", "magic", cell("-m a --model b"), "a comma list sweeps"),
    Bad("width-abbreviated-twice", "magic", cell("-W 512 --wid 640"), "--width is given twice"),
    Bad("style-three-times", "magic", cell("--style A --style B --style C"), "3 times"),
    Bad("panel-line-seed-twice", "magic", "%venice panel -s 1 -s 2", "--seed is given twice"),
    Bad("panel-and-save", "magic", cell("--panel --save out"), "drop --openai/--save"),
    # the rest of the line
    Bad("prompt-on-line", "magic", cell("a red fox"), "the prompt goes in the cell body"),
    Bad("bad-output-name", "magic", cell("-o 1shots"), "not a valid variable name"),
    Bad("unbalanced-quote", "magic", cell('--style "Analog'), "unbalanced quotes"),
    Bad("save-to-a-file", "magic", cell("--save {tmpfile}"), "is a file, not a directory"),
    Bad("save-under-a-file", "magic", cell("--save {tmpfile}/shots"), "which is a file"),
    Bad("save-unwritable", "magic", cell("--save /proc/venice-shots"), "is not writable"),
    # sweeps
    Bad("seed-open-range", "magic", cell("--seed 1:"), "start:stop or start:stop:step"),
    Bad("seed-letters", "magic", cell("--seed a,b"), "--seed takes whole numbers, got 'a'"),
    Bad("cfg-backwards", "magic", cell("--cfg-scale 4:2:1"), "ends before it starts"),
    Bad("seed-range-huge", "magic", cell("--seed 1:1000"), "a sweep takes at most 256"),
    Bad("grid-too-big", "magic", cell("--seed 1:20 --cfg-scale 1:20"), "split it into"),
    Bad("sweep-one-bad-style", "magic", cell("--style Cinematic,Cinematc"), "did you mean"),
    Bad(
        "sweep-over-cost-limit",
        "magic",
        cell("-m gpt-image-2 -r 4K -q high -a 1:1,3:2,16:9 -n 2"),
        "add --yes to run it",
    ),
    # the cell body
    Bad("body-missing", "magic", "%%venice -m z-image-turbo", "cell body is empty"),
    Bad("body-whitespace", "magic", cell("", "   \n\t  \n"), "the prompt is empty"),
    Bad("body-only-separator", "magic", cell("", "---"), "the prompt is empty"),
    Bad("prompt-over-limit", "magic", cell("-m venice-sd35", LONG), "takes at most 1,500"),
    Bad(
        "negative-over-limit",
        "magic",
        cell("-m venice-sd35", f"{PROMPT}\n---\n{LONG}"),
        "the negative prompt has 1,501 characters",
    ),
    Bad("unknown-var", "magic", cell("", "a fox at {time_of_day}"), "'time_of_day' is not defined"),
    Bad("missing-attr", "magic", cell("", "{obj.missing_attr}"), "no attribute 'missing_attr'"),
    # %config
    Bad("config-concurrency-0", "config", "concurrency = 0", "concurrency must be from 1 to 16"),
    Bad(
        "config-backend-cloud",
        "config",
        'backend = "cloud"',
        "backend must be one of auto, venice, local",
    ),
    Bad("config-read-timeout", "config", "read_timeout = -1", "must be above 0 seconds"),
    Bad("config-preview-10", "config", "preview_size = 10", "preview_size must be from 64"),
    Bad("config-cost-negative", "config", "cost_limit_usd = -1", "cost_limit_usd must be from 0"),
    Bad("config-format-gif", "config", 'default_format = "gif"', "one of webp, png, jpeg"),
    Bad("config-base-url-ftp", "config", 'base_url = "ftp://x"', "http:// or https://"),
    Bad(
        "config-base-url-endpoint",
        "config",
        'base_url = "https://api.venice.ai/api/v1/image/generate"',
        "paste the part before /image/generate: 'https://api.venice.ai/api/v1'",
    ),
    Bad(
        "config-base-url-openai-endpoint",
        "config",
        'base_url = "http://127.0.0.1:8787/api/v1/images/generations/"',
        "paste the part before /images/generations: 'http://127.0.0.1:8787/api/v1'",
    ),
    Bad(
        "config-base-url-no-scheme",
        "config",
        'base_url = "api.venice.ai/api/v1"',
        "paste e.g. 'https://api.venice.ai/api/v1'",
    ),
    Bad("config-retries-11", "config", "max_retries = 11", "max_retries must be from 0 to 10"),
    Bad("config-concurrency-str", "config", 'concurrency = "4"', "expected an int"),
    Bad("config-save-dir-empty", "config", 'save_dir = ""', "save_dir must not be empty"),
    # the panel: the magic's message for the same input
    Bad(
        "panel-open-sd35-1000",
        "panel",
        panel_init(model="venice-sd35", width=1000),
        "multiple of 16",
        same_as=cell("-m venice-sd35 -W 1000"),
    ),
    Bad(
        "panel-click-sd35-1000",
        "panel",
        panel_click(model="venice-sd35", width=1000),
        "multiple of 16",
        same_as=cell("-m venice-sd35 -W 1000 -s 7"),
    ),
    Bad(
        "panel-prompt-over-limit",
        "panel",
        panel_click(model="venice-sd35", prompt=LONG),
        "takes at most 1,500",
        same_as=cell("-m venice-sd35", LONG),
    ),
    Bad(
        "panel-empty-prompt",
        "panel",
        panel_click(prompt="   "),
        "the prompt is empty. Type what to draw in the Prompt box",  # no "cell body" in a panel
    ),
    Bad(
        "panel-model-typo",
        "panel",
        panel_init(model="qwen-image2"),  # a dropdown cannot hold an unlisted id
        "did you mean 'qwen-image-2'",
    ),
    Bad(
        "panel-style-typo",
        "panel",
        panel_init(style_preset="Cinematc"),
        "did you mean 'Cinematic'",
        same_as=cell("--style Cinematc"),
    ),
    Bad("panel-unknown-field", "panel", panel_init(colour="red"), "unknown request field"),
    # the Python API
    Bad("api-seed-str", "api", api_check(seed="7"), "--seed must be a whole number"),
    Bad("api-cfg-bool", "api", api_check(cfg_scale=True), "takes a number above 0"),
    Bad("api-variants-float", "api", api_check(variants=2.0), "takes a whole number from 1 to 4"),
    Bad("api-prompt-none", "api", api_check(prompt=None), "the prompt is empty"),
    Bad("api-width-str", "api", api_check(width="512"), "--width must be a whole number"),
    Bad("api-safe-mode-str", "api", api_check(safe_mode="no"), "must be True or False"),
    Bad("api-steps-float", "api", api_check(steps=2.5), "--steps must be a whole number"),
    Bad("api-sd35-1000", "api", api_validate(model="venice-sd35", width=1000), "multiple of 16"),
    Bad(
        "api-with-unknown",
        "api",
        api_raises(lambda s: GenerateRequest(model="m", prompt="p").with_(sead=3)),
        "did you mean 'seed'",
    ),
    Bad(
        "api-client-ftp",
        "api",
        api_raises(lambda s: VeniceClient("k", base_url="ftp://x")),
        "must start with http:// or https://",
    ),
    Bad(
        "api-client-models-endpoint",
        "api",
        api_raises(lambda s: VeniceClient("k", base_url="http://127.0.0.1:9/api/v1/models")),
        "paste the part before /models: 'http://127.0.0.1:9/api/v1'",
    ),
    Bad(
        "api-client-timeout",
        "api",
        api_raises(lambda s: VeniceClient("k", base_url="http://127.0.0.1:9", read_timeout=-1)),
        "read_timeout must be a positive number",
    ),
    Bad("api-session-generate", "api", api_raises(_generate_sd35_1000), "multiple of 16"),
]


# ---- running ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def namespace(ip):
    """The body cases need ``obj`` without ``missing_attr`` and no ``time_of_day`` at all; the
    shell is IPython's singleton, so another module may have defined it."""
    ip.user_ns["obj"] = object()
    ip.user_ns.pop("time_of_day", None)


def usage_message(ip, source: str) -> str:
    """What IPython shows for the cell: exactly one ``UsageError:`` line; returns the message."""
    outcome, cap = run(ip, source)
    error = outcome.error_in_exec or outcome.error_before_exec
    assert type(error) is UsageError, f"expected a UsageError, got {error!r}"
    shown = (cap.stdout + cap.stderr).strip()
    assert "Traceback" not in shown and "\n" not in shown, shown
    assert shown.startswith("UsageError: "), shown
    assert not cap.outputs, "a refused cell displays nothing (no status line, no stale image)"
    return shown.removeprefix("UsageError: ")


def config_message(ip, setting: str, caplog) -> str:
    """``%config VeniceMagics.<setting>`` is refused with one logged line; nothing changes."""
    name = setting.split("=")[0].strip()
    before = getattr(magics(ip), name), getattr(get_session().settings, name)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        outcome, cap = run(ip, f"%config VeniceMagics.{setting}")
    assert outcome.success and not cap.stdout and not cap.stderr and not cap.outputs
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is None, "a refused setting logs a line, not a traceback"
    assert (getattr(magics(ip), name), getattr(get_session().settings, name)) == before
    return record.getMessage()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_no_request(case: Bad, ip, server, tmp_path, caplog):
    with restored_traits(ip):
        warm(ip, server)
        if case.surface == "magic":
            tmpfile = tmp_path / "a-file.txt"
            tmpfile.write_text("not a directory")
            message = usage_message(ip, case.source.replace("{tmpfile}", str(tmpfile)))
        elif case.surface == "config":
            message = config_message(ip, case.source, caplog)
        else:
            message = case.source(get_session())
        assert server.request_count == 0, [r.path for r in server.received]
        assert "\n" not in message and "Traceback" not in message, message
        assert case.expect in message, message
        if case.same_as is not None:
            assert message == usage_message(ip, case.same_as)
        assert server.request_count == 0, [r.path for r in server.received]


def test_the_table_covers_every_surface_with_forty_cases():
    surfaces = {c.surface for c in CASES}
    assert surfaces == {"magic", "config", "panel", "api"}
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


def test_a_bad_default_model_is_named_at_the_next_cell_with_one_try(ip, server):
    """``%config`` cannot check a model name offline. The next cell fetches the list again
    once, then sends the unlisted id with a note (the service may remap a retired id); the
    404 it gets back is one line with the suggestion, and nothing is generated."""
    with restored_traits(ip):
        run(ip, "%config VeniceMagics.default_model = 'qwen-image2'")
        warm(ip, server)
        outcome, cap = run(ip, cell(""))
        assert "did you mean 'qwen-image-2'" in str(outcome.error_in_exec).lower()
        assert any("'qwen-image2' is not in the model list" in t for t in texts(cap))
        paths = [r.path for r in server.received]
        assert paths.count("/api/v1/models") == 1 and len(paths) == 2  # one refetch, one try


def test_control_a_good_cell_is_counted_and_shown(ip, server):
    """The harness can fail: the same shell, a valid cell, and the server counts its request."""
    with restored_traits(ip):
        warm(ip, server)
        outcome, cap = run(ip, cell("-m venice-sd35 -W 1008 -s 7"))
        assert outcome.success and cap.outputs
        assert server.generate_count == 1 and server.request_count == 1


# ---- a refused %config stops Run All (issue 13, class 2) ----------------------------------------

REFUSED = [
    ("backend", '"cloud"', "backend must be one of auto, venice, local"),
    ("base_url", '"api.venice.ai/api/v1"', "must start with http:// or https://"),
    ("base_url", '"https://api.venice.ai/api/v1/image/generate"', "full /image/generate"),
    ("concurrency", '"4"', "expected an int"),
    ("default_format", '"gif"', "one of webp, png, jpeg"),
]


@pytest.mark.parametrize("name, value, why", REFUSED, ids=[f"{n}={v}" for n, v, _ in REFUSED])
def test_a_refused_setting_stops_every_later_generation(ip, server, caplog, name, value, why):
    """IPython logs the refusal and the %config cell succeeds; Run All would go on with the old
    value (with a key set: a billed request to the real API). Every later cell, the panel and the
    Python API refuse with one line naming the setting, until it is set to a valid value."""
    with restored_traits(ip):
        warm(ip, server)
        message = config_message(ip, f"{name} = {value}", caplog)
        assert why in message
        refused = usage_message(ip, cell("-s 5"))
        assert refused.startswith("nothing runs while a setting is refused:"), refused
        assert f"VeniceMagics.{name}" in refused and why in refused
        assert usage_message(ip, "%venice panel") == refused
        with pytest.raises(VeniceError) as info:
            get_session().generate(GenerateRequest(model="z-image-turbo", prompt=PROMPT, seed=5))
        assert info.value.one_line() == refused
        assert server.request_count == 0, [r.path for r in server.received]
        current = getattr(magics(ip), name)  # setting the value in use again is a choice too
        outcome, cap = run(ip, f"%config VeniceMagics.{name} = {current!r}")
        assert outcome.success
        outcome, cap = run(ip, cell("-m z-image-turbo -W 64 -H 64 -s 5"))
        assert outcome.success, cap.stderr
        assert server.generate_count == 1


def test_the_panel_refuses_to_generate_while_a_setting_is_refused(ip, server, caplog):
    from venice_nb.panel.app import Panel

    with restored_traits(ip):
        warm(ip, server)
        panel = Panel(session=get_session(), model="z-image-turbo", seed=7)
        try:
            config_message(ip, 'backend = "Cloud"', caplog)
            panel.generate_button.click()
            assert panel.wait_idle(10)
            assert panel.status_state == "error"
            assert "nothing runs while a setting is refused" in panel.status_text
            assert "VeniceMagics.backend" in panel.status_text
        finally:
            panel.close()
        assert server.generate_count == 0


@pytest.mark.parametrize(
    "name, typed, stored",
    [("backend", "Venice", "venice"), ("backend", " VENICE ", "venice"),
     ("default_format", "PNG", "png"), ("default_format", "Jpeg", "jpeg")],
)  # fmt: skip
def test_obvious_spellings_are_accepted(ip, server, name, typed, stored):
    with restored_traits(ip):
        outcome, cap = run(ip, f"%config VeniceMagics.{name} = {typed!r}")
        assert outcome.success and not cap.stderr, cap.stderr
        assert getattr(magics(ip), name) == stored
        assert getattr(get_session().settings, name) == stored
        assert not get_session().refused


def test_a_refused_value_in_the_startup_config_is_refused_too(ip, server):
    """ipython_config.py (or a %config before %reload_ext): the extension loads, says why it
    ignored the value, and cells refuse until it is fixed."""
    with restored_traits(ip):
        ip.config.VeniceMagics.backend = "cloud"
        ip.run_line_magic("reload_ext", "venice_nb")
        try:
            warm(ip, server)
            message = usage_message(ip, cell("-s 5"))
            assert "VeniceMagics.backend must be one of auto, venice, local" in message
            assert server.request_count == 0
        finally:
            del ip.config.VeniceMagics["backend"]
            ip.run_line_magic("reload_ext", "venice_nb")
            get_session().accept("backend")
