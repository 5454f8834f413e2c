"""A base URL that is a website: said as a base-URL problem, with the URL to paste.

A web server answering HTML with 200 (here a FaultServer on 127.0.0.1), or Venice's own website,
used to end in "the models list could not be read" or a connection message.
"""

from __future__ import annotations

import pytest
from fault_server import FaultServer, Reply

from venice_nb.client import VeniceClient
from venice_nb.errors import ConfigurationError, InvalidResponseError, VeniceError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings
from venice_nb.urls import check_base_url

PAGE = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>Hi</body></html>"
KEY = "sk-website-test-0123456789"


@pytest.fixture
def website():
    with FaultServer() as server:
        server.default = Reply(200, PAGE, content_type="text/html; charset=utf-8")
        yield server


def says_base_url(text: str) -> None:
    assert "web page" in text and "/api/v1" in text, text
    assert "https://api.venice.ai/api/v1" in text, text
    assert "models list could not be read" not in text


@pytest.mark.parametrize("root", ["", "/api/v1", "/v1"])
def test_python_client_on_a_website_says_what_the_base_url_must_look_like(website, root):
    url = website.base_url.removesuffix("/api/v1") + root
    with VeniceClient(KEY, base_url=url) as client, pytest.raises(VeniceError) as info:
        client.models()
    assert isinstance(info.value, InvalidResponseError)
    says_base_url(info.value.one_line())


def test_a_generation_against_a_website_says_it_too(website):
    session = VeniceSession(Settings(backend="venice", base_url=website.base_url, max_retries=0))
    session.login(KEY)
    with pytest.raises(VeniceError) as info:
        session.generate(GenerateRequest(model="z-image-turbo", prompt="a fox"))
    says_base_url(info.value.one_line())


def test_html_without_a_content_type_is_recognised_by_its_first_bytes(website):
    website.default = Reply(200, b"\n  <html><body>portal</body></html>", content_type="text/plain")
    with VeniceClient(KEY, base_url=website.base_url) as client, pytest.raises(VeniceError) as info:
        client.models()
    says_base_url(info.value.one_line())


@pytest.mark.parametrize(
    "url",
    [
        "https://venice.ai",
        "https://venice.ai/",
        "https://www.venice.ai",
        "https://venice.ai/api/v1",
        "https://api.venice.ai",
        "https://api.venice.ai/",
        "https://docs.venice.ai/api-reference",
    ],
)
def test_venice_s_website_or_bare_api_host_is_refused_with_the_url_to_paste(url):
    with pytest.raises(ConfigurationError) as info:
        check_base_url(url)
    text = str(info.value)
    assert "'https://api.venice.ai/api/v1'" in text and "/api/v1" in text


def test_the_real_api_root_and_other_servers_are_still_taken():
    assert check_base_url("https://api.venice.ai/api/v1/") == "https://api.venice.ai/api/v1"
    assert check_base_url("http://127.0.0.1:8000/api/v1") == "http://127.0.0.1:8000/api/v1"
    assert check_base_url("https://gateway.school.example/venice") == (
        "https://gateway.school.example/venice"
    )


def test_the_magic_says_it_in_one_line(ip, website, caplog):
    from magics_harness import restored_traits, run, seen

    with restored_traits(ip):
        ip.run_line_magic("config", f"VeniceMagics.base_url = {website.base_url!r}")
        outcome, cap = run(ip, "%%venice -m z-image-turbo -s 1\na fox")
        shown = seen(cap) + str(outcome.error_in_exec)
        says_base_url(shown)
        outcome, cap = run(ip, "%config VeniceMagics.base_url = 'https://venice.ai'")
        refused = seen(cap) + str(outcome.error_in_exec) + caplog.text  # %config logs it
        assert "Venice's website" in refused and "'https://api.venice.ai/api/v1'" in refused


def test_the_panel_says_it_in_its_status_line(website):
    from venice_nb.panel.app import Panel

    session = VeniceSession(Settings(backend="venice", base_url=website.base_url, max_retries=0))
    session.login(KEY)
    try:
        panel = Panel(session=session, seed=1, width=256, height=256)
    except VeniceError as exc:  # refused at construction: the same words
        says_base_url(exc.one_line())
        return
    try:
        panel.generate_button.click()
        assert panel.wait_idle(20)
        says_base_url(panel.status_text)
    finally:
        panel.close()


def test_the_website_is_refused_from_python_and_the_environment(monkeypatch):
    with pytest.raises(ConfigurationError, match="Venice's website"):
        VeniceClient(KEY, base_url="https://venice.ai")
    monkeypatch.setenv("VENICE_BASE_URL", "https://www.venice.ai/")
    with pytest.raises(
        ConfigurationError, match=r"\$VENICE_BASE_URL .*'https://api.venice.ai/api/v1'"
    ):
        VeniceClient(KEY)
