"""``%venice`` subcommands, ``%config VeniceMagics``, loading and the first-use notice."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys

import pytest
from IPython.core.error import UsageError
from magics_harness import (
    KEY,
    assert_no_key,
    cell,
    config,
    magics,
    restored_traits,
    run,
    seen,
    texts,
    warm,
)

from venice_nb.magics import VeniceMagics, VeniceRunError
from venice_nb.server import LocalServer
from venice_nb.session import VeniceSession, get_session


@pytest.fixture(autouse=True)
def fresh(ip, server):
    with restored_traits(ip):
        warm(ip, server)
        yield
    get_session().login(None)


def line(ip, text):
    _, cap = run(ip, f"%venice {text}")
    return cap


# ---- subcommands ------------------------------------------------------------------------------


def test_styles_is_a_compact_list(ip):
    cap = line(ip, "styles")
    [output] = cap.outputs
    assert "Analog Film" in output.data["text/plain"] and "Tilt-Shift" in output.data["text/plain"]
    assert "venice-nb-styles" in output.data["text/html"]


def test_models_table(ip):
    cap = line(ip, "models")
    [output] = cap.outputs
    html = output.data["text/html"]
    for model in ("z-image-turbo", "qwen-image-2", "gpt-image-2", "lustify-v7"):
        assert model in html
    assert "deprecated" in html and "16:9" in html
    assert "qwen-image-2: Qwen Image 2" in output.data["text/plain"]


def test_config_masks_the_key_and_names_the_backend(ip, server):
    cap = line(ip, "config")
    text = cap.outputs[0].data["text/plain"]
    assert "api_key: ****60" in text
    assert f"effective_base_url: {server.base_url}" in text
    assert "effective_backend: Venice API" in text
    assert_no_key(seen(cap))


def test_help_and_no_arguments(ip):
    for text in ("", "help"):
        out = line(ip, text).outputs[0].data["text/plain"]
        assert "%venice models" in out and "%venice login" in out


def test_unknown_subcommand_suggests_and_lists(ip):
    cap = line(ip, "modles")
    assert cap.stderr.startswith("UsageError: unknown subcommand 'modles'; did you mean 'models'")
    assert (
        "valid: styles, models, balance, config, login, logout, classroom, panel, help"
        in cap.stderr
    )
    cap = line(ip, "styles extra")
    assert "takes no arguments" in cap.stderr


def test_help_of_the_cell_magic_lists_every_option(ip):
    _, cap = run(ip, "%%venice?")
    for option in ("--cfg-scale", "--aspect-ratio", "--no-safe-mode", "--openai", "--yes"):
        assert option in cap.stdout
    assert "start:stop[:step]" in cap.stdout and "%%venice [-m MODEL]" in cap.stdout


def test_login_keeps_the_key_in_memory_and_masks_it(ip, monkeypatch):
    with LocalServer(api_keys={"sk-login-key-abcdef12"}) as strict:
        config(ip, base_url=strict.base_url)
        with pytest.raises(VeniceRunError, match=r"401|key"):
            cell(ip, "-s 1", "a fox")  # the env key is not accepted here
        monkeypatch.setattr(getpass, "getpass", lambda prompt="": "sk-login-key-abcdef12")
        cap = line(ip, "login")
        assert cap.stdout.strip() == "key set (****12); cells now use the Venice API"
        result, out = cell(ip, "-s 1", "a fox")
        assert len(result.images) == 1
        monkeypatch.setattr(getpass, "getpass", lambda prompt="": "  ")
        cap = line(ip, "login")
        assert "no key entered; the key stays ****12" in cap.stdout
        cap = line(ip, "logout")
        assert "forgotten; VENICE_API_KEY is still set (****60)" in cap.stdout
        assert_no_key(seen(out), seen(cap))
        assert "sk-login-key" not in seen(out) + seen(cap) + repr(get_session())


def test_login_without_stdin_is_one_line(ip, monkeypatch):
    from IPython.core.error import StdinNotImplementedError

    def no_stdin(prompt=""):
        raise StdinNotImplementedError("no stdin")

    monkeypatch.setattr(getpass, "getpass", no_stdin)
    with pytest.raises(UsageError, match="cannot ask for input; set VENICE_API_KEY"):
        ip.run_line_magic("venice", "login")


def test_panel_opens_seeded_with_the_options(ip):
    pytest.importorskip("ipywidgets")
    _, cap = run(ip, "%venice panel -m qwen-image-2 -s 5 -c 6.5 -a 16:9 -o pnl a red fox")
    panel = ip.user_ns.pop("pnl")
    try:
        request = panel.request()
        assert (request.model, request.seed, request.cfg_scale) == ("qwen-image-2", 5, 6.5)
        assert request.aspect_ratio == "16:9" and request.prompt == "a red fox"
        assert cap.outputs  # the panel was displayed
    finally:
        panel.close()


def test_cell_panel_takes_body_and_options(ip):
    pytest.importorskip("ipywidgets")
    run(ip, "%%venice --panel -s 9 -o pnl\na gondola\n---\nblurry")
    panel = ip.user_ns.pop("pnl")
    try:
        request = panel.request()
        assert (request.prompt, request.negative_prompt, request.seed) == (
            "a gondola",
            "blurry",
            9,
        )
    finally:
        panel.close()


def test_panel_refuses_bad_options_in_one_line(ip, server):
    with pytest.raises(UsageError, match="did you mean 'qwen-image-2'"):
        ip.run_line_magic("venice", "panel -m qwen-image2")
    with pytest.raises(UsageError, match="unknown option '--sead'"):
        ip.run_line_magic("venice", "panel --sead 3")
    assert server.generate_count == 0


# ---- configuration ----------------------------------------------------------------------------


def test_config_values_reach_the_session(ip):
    session = get_session()
    config(ip, concurrency=8, read_timeout=42.0, default_model="qwen-image-2", preview_size=256)
    s = session.settings
    assert (s.concurrency, s.read_timeout, s.default_model, s.preview_size) == (
        8,
        42.0,
        "qwen-image-2",
        256,
    )
    config(ip, default_model="")
    assert session.settings.default_model is None


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        ("concurrency = 0", "VeniceMagics.concurrency must be from 1 to 16, got 0"),
        ("max_retries = 11", "VeniceMagics.max_retries must be from 0 to 10"),
        ("read_timeout = 0", "VeniceMagics.read_timeout must be above 0 seconds"),
        ("cost_limit_usd = -1", "VeniceMagics.cost_limit_usd must be from 0"),
        ("base_url = 'ftp://x'", "must start with http:// or https://"),
        ("default_format = 'gif'", "must be one of webp, png, jpeg"),
        ("backend = 'cloud'", "backend"),
    ],
)
def test_bad_config_is_one_line_and_changes_nothing(ip, statement, fragment, caplog):
    before = get_session().settings
    _, cap = run(ip, f"%config VeniceMagics.{statement}")
    logged = cap.stderr + caplog.text
    assert fragment in logged
    assert "Traceback" not in logged
    assert get_session().settings == before


def test_base_url_defaults_from_the_environment(monkeypatch):
    monkeypatch.setenv("VENICE_BASE_URL", "http://127.0.0.1:9/api/v1")
    session = VeniceSession()
    instance = VeniceMagics(None, session=session)
    assert instance.base_url == "http://127.0.0.1:9/api/v1"
    assert session.settings.base_url == "http://127.0.0.1:9/api/v1"
    assert_no_key(repr(instance), repr(session))


def test_first_use_without_a_key_says_local_preview_once(ip, monkeypatch):
    monkeypatch.delenv("VENICE_API_KEY")
    config(ip, backend="auto")
    session = get_session()
    monkeypatch.setattr(session, "_notice_shown", False)
    result, cap = cell(ip, "-s 3", "a fox")
    notice = [t for t in texts(cap) if "No Venice API key" in t]
    assert len(notice) == 1 and "VENICE_API_KEY" in notice[0] and "%venice login" in notice[0]
    assert result.is_local_preview
    _, cap = cell(ip, "-s 4", "a fox")
    assert not any("No Venice API key" in t for t in texts(cap))


# ---- loading ----------------------------------------------------------------------------------


def test_unload_removes_the_magics_and_reload_restores_them(ip, server):
    instance = magics(ip)
    ip.run_line_magic("unload_ext", "venice_nb")
    try:
        assert "venice" not in ip.magics_manager.magics["line"]
        assert "venice" not in ip.magics_manager.magics["cell"]
        assert instance not in ip.configurables
    finally:
        ip.run_line_magic("load_ext", "venice_nb")
    assert "venice" in ip.magics_manager.magics["cell"]
    config(ip, backend="venice", base_url=server.base_url)
    result, _ = cell(ip, "-s 1", "a fox")
    assert len(result.images) == 1


def test_load_ext_imports_neither_pil_nor_ipywidgets():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'venice_nb')\n"
        "assert 'venice' in ip.magics_manager.magics['cell']\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('PIL', 'ipywidgets'))\n"
        "print('HEAVY', heavy)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "VENICE_API_KEY"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout


def test_the_key_is_never_an_option(ip, server):
    outcome, cap = run(ip, f"%%venice --api-key {KEY}\na fox")
    assert type(outcome.error_in_exec) is UsageError
    assert "unknown option '--api-key'" in cap.stderr
    assert_no_key(seen(cap))
    assert server.request_count == 0
