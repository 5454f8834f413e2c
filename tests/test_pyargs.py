"""Python calls answered in Python words: a TypeError or ValueError naming the parameter, what it
takes and what it got, before anything is sent (never "pass -m MODEL" or a bare comparison error).
"""

from __future__ import annotations

import pytest

import venice_nb
from venice_nb.operations.generate import GenerateRequest
from venice_nb.panel.app import Panel
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings


@pytest.fixture
def session(local_server, tmp_path) -> VeniceSession:
    s = VeniceSession(
        Settings(backend="venice", base_url=local_server.base_url, cache_enabled=False,
                 max_retries=0, save_dir=str(tmp_path / "saved"))
    )  # fmt: skip
    s.login("sk-pyargs-test-0123456789")
    return s


@pytest.fixture
def shot(session, local_server):
    result = session.generate(
        GenerateRequest(model="z-image-turbo", prompt="a fox", seed=3, width=256, height=256)
    )
    local_server.reset_counters()
    return result


def posts(server) -> int:
    return sum(1 for r in server.received if r.method == "POST")


CALLS = [
    (lambda r, s: r.images[0].edit(123, session=s), TypeError, "edit(): prompt must be a str"),
    (lambda r, s: r.edit(None, session=s), TypeError, "edit(): prompt must be a str"),
    (lambda r, s: r.images[0].edit("night", model=5, session=s), TypeError,
     "edit(): model must be a str, e.g. 'firered-image-edit'; got int 5"),
    (lambda r, s: venice_nb.edit(r, "night", aspect_ratio=16, session=s), TypeError,
     "edit(): aspect_ratio must be a str, got int 16"),
    (lambda r, s: venice_nb.edit(r, "night", enhance_prompt="yes", session=s), TypeError,
     "edit(): enhance_prompt must be True or False, got str 'yes'"),
    (lambda r, s: venice_nb.edit(r, "night", downscale="no", session=s), TypeError,
     "edit(): downscale must be True or False"),
    (lambda r, s: r.upscale(3, session=s), ValueError, "upscale(): scale must be one of 2, 4; got 3"),
    (lambda r, s: r.images[0].upscale("2", session=s), TypeError,
     "upscale(): scale must be one of 2, 4; got str '2'"),
    (lambda r, s: r.upscale(2, creativity="high", session=s), TypeError,
     "upscale(): creativity must be a number"),
    (lambda r, s: r.remove_background(transport="ftp", session=s), ValueError,
     "remove_background(): transport must be one of 'auto', 'json', 'multipart'"),
    (lambda r, s: r.remove_background(use_cache="no", session=s), TypeError,
     "remove_background(): use_cache must be True or False"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "kind", "message"), CALLS)
def test_toolbox_calls_name_the_parameter_in_python_words(
    shot, session, local_server, call, kind, message
):
    with pytest.raises(kind) as info:
        call(shot, session)
    assert message in str(info.value), str(info.value)
    assert "%%venice" not in str(info.value) and "-m MODEL" not in str(info.value)
    assert posts(local_server) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": "abc"}, "Panel(): seed must be an int, got str 'abc'"),
        ({"cfg_scale": "7"}, "Panel(): cfg_scale must be a number, got str '7'"),
        ({"variants": 2.5}, "Panel(): variants must be an int, got float 2.5"),
        ({"width": True}, "Panel(): width must be an int, got bool True"),
        ({"prompt": 42}, "Panel(): prompt must be a str, got int 42"),
        ({"safe_mode": "off"}, "Panel(): safe_mode must be True or False"),
    ],
)
def test_panel_arguments_are_checked_in_python_words(session, local_server, kwargs, message):
    before = local_server.request_count
    with pytest.raises(TypeError) as info:
        Panel(session=session, **kwargs)
    assert message in str(info.value)
    assert local_server.request_count == before  # refused before anything was fetched


def test_panel_session_must_be_a_session():
    with pytest.raises(TypeError, match="Panel\\(\\): session must be a VeniceSession, got str"):
        Panel(session="default")


def test_right_arguments_still_work(shot, session):
    assert shot.images[0].upscale(2, session=session).images
    assert venice_nb.edit(shot, "make it night", aspect_ratio="16:9", session=session).images
    panel = Panel(session=session, seed=5, cfg_scale=7, width=256, height=256)
    panel.close()


def test_an_unexpected_keyword_is_a_type_error_with_a_suggestion(shot, session, local_server):
    with pytest.raises(TypeError, match="edit\\(\\) takes no argument 'aspect'; did you mean"):
        shot.images[0].edit("night", aspect="16:9", session=session)
    assert posts(local_server) == 0
