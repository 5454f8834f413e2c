"""A result acts through what made it (maker.py): two real local servers, A and B, tell apart
where a result's verbs and a sweep's ``retry_failed`` are sent. Before the maker, both went to the
kernel's default session (its own local preview server), silently."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from venice_nb.client import VeniceClient
from venice_nb.maker import Maker, MakerError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GenerationResult, SweepCell, SweepResult
from venice_nb.server import LocalServer
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings
from venice_nb.sweep import Job, run_sweep

KEY = "maker-test-key-0123456789"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[LocalServer, LocalServer]]:
    with LocalServer() as a, LocalServer() as b:
        yield a, b


@pytest.fixture
def a(servers: tuple[LocalServer, LocalServer]) -> LocalServer:
    servers[0].reset_counters()
    servers[0].clear_faults()
    return servers[0]


@pytest.fixture
def b(servers: tuple[LocalServer, LocalServer]) -> LocalServer:
    servers[1].reset_counters()
    servers[1].clear_faults()
    return servers[1]


def posts(server: LocalServer, path: str) -> int:
    return sum(1 for r in server.received if r.method == "POST" and r.path.endswith(path))


def session_on(server: LocalServer, tmp_path: Path) -> VeniceSession:
    settings = Settings(backend="venice", base_url=server.base_url, cache_dir=str(tmp_path / "c"))
    session = VeniceSession(settings)
    session.login(KEY)
    return session


def request(seed: int = 7) -> GenerateRequest:
    return GenerateRequest(model="z-image-turbo", prompt="a kite", seed=seed)


def test_a_clients_result_upscales_edits_and_cuts_out_on_that_client(a, b) -> None:
    client = VeniceClient(api_key=KEY, base_url=a.base_url)
    shot = client.generate(request())
    assert shot.maker is client and shot.images[0].maker is client
    bigger = shot.images[0].upscale(2)
    assert posts(a, "/image/upscale") == 1 and posts(b, "/image/upscale") == 0
    assert bigger.base_url == a.base_url
    assert bigger.images[0].size == (2 * shot.image.size[0], 2 * shot.image.size[1])
    shot.remove_background()
    shot.edit("make it night")
    assert posts(a, "/image/background-remove") == 1 and posts(a, "/image/edit") == 1
    assert b.request_count == 0
    assert all(r.has_auth for r in a.received if r.method == "POST")  # the client's own key
    assert bigger.maker is client  # a derived result acts through the same maker again


def test_a_sessions_result_upscales_on_that_sessions_server(a, b, tmp_path) -> None:
    session = session_on(b, tmp_path)
    shot = session.generate(request())
    assert shot.maker is session
    shot.images[0].upscale(2)
    assert posts(b, "/image/upscale") == 1 and posts(a, "/image/upscale") == 0
    again = session.generate(request())  # a cache hit is the session's too
    assert again.cached and again.maker is session


def test_retry_failed_reruns_where_the_sweep_ran(a, b, tmp_path) -> None:
    session = session_on(b, tmp_path)
    session.generate(request(1))  # the catalogue is read before the faults are armed
    session.configure(concurrency=1, max_retries=0)
    b.inject("500", count=1)
    grid = run_sweep(session, [Job(request(s), {"seed": s}) for s in (11, 12)], cols="seed")
    assert [cell.ok for cell in grid.cells] == [False, True] and grid.maker is session
    b.reset_counters()
    assert grid.retry_failed() is grid
    assert [cell.ok for cell in grid.cells] == [True, True]
    assert posts(b, "/image/generate") == 1 and a.request_count == 0


def test_a_client_reruns_failed_cells_itself(a) -> None:
    client = VeniceClient(api_key=KEY, base_url=a.base_url)
    cells = [SweepCell({"seed": 5}, error=MakerError("failed before"), request=request(5))]
    grid = SweepResult(cells).made_by(client)
    assert not grid.cells[0].ok
    grid.retry_failed()
    assert grid.cells[0].ok and grid.cells[0].result.maker is client  # type: ignore[union-attr]
    assert posts(a, "/image/generate") == 1


def test_a_result_without_a_maker_says_so_in_one_line(a) -> None:
    client = VeniceClient(api_key=KEY, base_url=a.base_url)
    shot = client.generate(request())
    hand_made = GenerationResult(request=shot.request, images=list(shot.images))
    hand_made.images = [type(im)(data=im.data, format=im.format) for im in shot.images]
    a.reset_counters()
    with pytest.raises(MakerError) as caught:
        hand_made.images[0].upscale(2)
    line = str(caught.value)
    assert "\n" not in line and "cannot upscale" in line and "session=" in line
    with pytest.raises(TypeError, match=r"^cannot retry the failed cells with str 'a session': "):
        SweepResult([SweepCell({}, error=MakerError("x"), request=request())]).retry_failed(
            "a session"  # type: ignore[arg-type]
        )
    assert a.request_count == 0  # nothing was sent anywhere


def test_a_maker_that_cannot_run_an_operation_says_which(a) -> None:
    from venice_nb.maker import cannot

    class GenerateOnly(VeniceClient):
        def upscale_image(self, image, scale=2, **kw):  # type: ignore[no-untyped-def,override]
            raise cannot(self, "upscale", "this maker only generates")

    client = GenerateOnly(api_key=KEY, base_url=a.base_url)
    assert isinstance(client, Maker)
    shot = client.generate(request())
    a.reset_counters()
    with pytest.raises(
        MakerError, match=r"^GenerateOnly cannot upscale: this maker only generates$"
    ):
        shot.upscale(2)
    assert a.request_count == 0


def test_a_pickled_result_leaves_its_maker_behind(a) -> None:
    import pickle

    client = VeniceClient(api_key=KEY, base_url=a.base_url)
    shot = client.generate(request())
    again = pickle.loads(pickle.dumps(shot))
    assert again.maker is None and again.images[0].maker is None and shot.maker is client
    assert KEY.encode() not in pickle.dumps(shot)
    with pytest.raises(MakerError, match="has no maker"):
        again.upscale(2)


def test_the_module_functions_run_on_their_inputs_maker(a, b) -> None:
    """``venice_nb.upscale(shot)`` as ``shot.upscale()``: on the client that made ``shot``, not
    on the kernel's session (which would answer with a local preview picture)."""
    import venice_nb

    client = VeniceClient(api_key=KEY, base_url=a.base_url)
    shot, other = client.generate(request(1)), client.generate(request(2))
    venice_nb.upscale(shot, 2)
    venice_nb.remove_background(shot.images[0])
    venice_nb.edit([shot, other], "put the two together")
    assert posts(a, "/image/upscale") == 1 and posts(a, "/image/background-remove") == 1
    assert posts(a, "/image/multi-edit") + posts(a, "/image/edit") == 1
    assert b.request_count == 0


def test_a_result_whose_session_now_sends_elsewhere_says_so(a, b, tmp_path) -> None:
    session = session_on(a, tmp_path)
    shot = session.generate(request(3))
    session.configure(concurrency=1, max_retries=0)
    a.inject("500", count=1)
    grid = run_sweep(session, [Job(request(s), {"seed": s}) for s in (21, 22)], cols="seed")
    session.configure(base_url=b.base_url)  # as %config VeniceMagics.base_url = ... would
    a.reset_counters()
    for verb in (
        lambda: shot.images[0].upscale(2),
        lambda: shot.remove_background(),
        grid.retry_failed,
    ):
        with pytest.raises(MakerError) as caught:
            verb()
        line = str(caught.value)
        assert "\n" not in line and a.base_url in line and b.base_url in line
        assert "session=" in line
    assert a.request_count == 0 and b.request_count == 0  # nothing sent, nothing paid
    shot.images[0].upscale(2, session=session)  # named: sent where it is told
    assert posts(b, "/image/upscale") == 1


def test_results_stay_plain_data_and_copies_keep_their_maker(a) -> None:
    import copy
    import dataclasses
    import pickle

    client = VeniceClient(api_key=KEY, base_url=a.base_url)
    shot = client.generate(request(4))
    record = dataclasses.asdict(shot)  # the maker holds a connection: it is no field
    assert "maker" not in record and record["base_url"] == a.base_url
    assert "maker" not in dataclasses.asdict(shot.images[0])
    assert copy.copy(shot).maker is client and copy.deepcopy(shot).images[0].maker is client
    assert copy.deepcopy(shot).images[0].data == shot.images[0].data
    assert pickle.loads(pickle.dumps(shot)).maker is None


def test_a_result_records_where_it_was_made_without_credentials(a) -> None:
    with_password = a.base_url.replace("http://", "http://teacher:hunter2@")
    client = VeniceClient(api_key=KEY, base_url=with_password)
    shot = client.generate(request(5))
    assert shot.base_url == a.base_url and shot.origin == a.base_url
    assert "hunter2" not in repr(vars(shot)) and "hunter2" not in repr(vars(shot.images[0]))


def test_python_mistakes_on_a_results_verbs_are_answered_in_python_words(a, tmp_path) -> None:
    import io

    from factories import encode

    import venice_nb
    from venice_nb.errors import ValidationError

    client = VeniceClient(api_key=KEY, base_url=a.base_url)
    image = client.generate(request(8)).images[0]
    a.reset_counters()
    with pytest.raises(ValueError, match=r"^edit\(\): prompt is empty; give one, e.g. 'make it"):
        image.edit("  ")
    with pytest.raises(TypeError, match=r"^remove_background\(\) got an unexpected keyword "
                       r"argument 'scale'; it takes transport, use_cache, downscale$"):  # fmt: skip
        image.remove_background(scale=2)
    with pytest.raises(TypeError, match=r"^upscale\(\) got an unexpected keyword argument 'size'"):
        image.upscale(2, size=4)
    with pytest.raises(TypeError, match=r"session= takes a VeniceClient or a VeniceSession"):
        image.upscale(2, session=5)
    png = tmp_path / "shot.png"
    png.write_bytes(encode("png", (64, 64)))
    with open(png) as text, pytest.raises(ValidationError, match=r"open\(path, 'rb'\)"):
        venice_nb.upscale(text, session=client)  # a text handle: it raised UnicodeDecodeError
    with pytest.raises(ValidationError, match=r"is a text stream; open the file in binary mode"):
        venice_nb.upscale(io.StringIO("not an image"), session=client)
    assert a.request_count == 0  # every mistake refused before a request
