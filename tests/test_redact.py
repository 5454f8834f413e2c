"""Credentials inside image URLs: never in an error, warning, repr, caption, sidecar or lineage.

An input image or a style reference given as ``http://user:password@host/...`` travels as it is
(the server needs it), but the local server, like the live one, echoes a URL it could not fetch,
and that echo used to reach the person. Everything here runs over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json

import pytest
from factories import live_session
from magics_harness import restored_traits, run, seen, warm

import venice_nb
from venice_nb.errors import APIError, VeniceError, error_line
from venice_nb.lineage import lineage_for
from venice_nb.metadata import embed_metadata, read_metadata
from venice_nb.operations.edit import EditRequest
from venice_nb.operations.generate import GenerateRequest
from venice_nb.redact import redact_text, redact_value
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings

SECRET = "img-pw-5e9c1f7a2b"


def cred_url(port: int = 9, path: str = "/photo.png") -> str:
    return f"http://alice:{SECRET}@127.0.0.1:{port}{path}"


@pytest.fixture
def session(local_server, tmp_path) -> VeniceSession:
    return live_session(local_server.base_url, tmp_path / "saved", "sk-redact-test-0123456789")


def all_text(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), error_line(exc), *map(str, exc.args)]
    if isinstance(exc, VeniceError):
        parts += [exc.message, exc.hint, exc.one_line()]
    return "\n".join(parts)


# ---- the Python API ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda url, s: venice_nb.edit(url, "make it night", session=s),
        lambda url, s: venice_nb.edit([url, url], "merge them", session=s),
        lambda url, s: s.generate(
            GenerateRequest(
                model="krea-v2-medium",
                prompt="a castle",
                width=256,
                height=256,
                style_references=({"image": url},),
            )
        ),
    ],
    ids=["edit", "multi-edit", "style-ref"],
)
def test_a_server_echo_of_an_image_url_reaches_no_error(session, local_server, call):
    with pytest.raises(VeniceError) as info:
        call(cred_url(), session)
    shown = all_text(info.value)
    shown += json.dumps(getattr(info.value, "body", None), default=str)
    shown += json.dumps(getattr(info.value, "field_errors", None), default=str)
    assert "127.0.0.1:9" in shown  # the echo is there, and useful
    assert SECRET not in shown and "alice" not in shown, shown
    assert local_server.request_count >= 1  # it was really sent, with the URL as given


def test_a_url_input_refused_before_sending_is_named_without_its_password(session):
    with pytest.raises(VeniceError) as info:
        venice_nb.upscale(cred_url(), session=session)
    assert "127.0.0.1:9/photo.png" in str(info.value)
    assert SECRET not in all_text(info.value)


def test_records_of_a_url_input_hold_no_password():
    """Label, repr, lineage, provenance, sidecar and embedded metadata of a URL input."""
    request = EditRequest(cred_url(), "make it night", model="qwen-edit")
    assert request.image.url == cred_url()  # what is sent is untouched
    lineage = lineage_for(request)
    shown = [
        request.image.label,
        repr(request.image),
        repr(request),
        json.dumps(request.image.describe()),
        json.dumps(request.provenance_json()),
        lineage.summary(),
        repr(lineage),
        json.dumps(lineage.describe()),
    ]
    for text in shown:
        assert SECRET not in text, text
    assert any("127.0.0.1:9/photo.png" in text for text in shown)


def test_style_reference_urls_are_recorded_without_credentials():
    request = GenerateRequest(
        model="krea-v2-medium", prompt="x", style_references=({"image": cred_url()},)
    )
    assert request.to_json()["style_references"][0]["image"] == cred_url()  # sent as given
    assert SECRET not in json.dumps(request.provenance_json())
    assert SECRET not in repr(request) and "127.0.0.1:9/photo.png" in repr(request)


def test_embedded_metadata_never_holds_url_credentials():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    data = embed_metadata(buf.getvalue(), "png", {"request": {"image": cred_url()}})
    assert SECRET.encode() not in data
    assert read_metadata(data)["request"]["image"] == "http://127.0.0.1:9/photo.png"


# ---- the magic --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        f"%%venice edit -i {cred_url()}\nmake it night",
        f"%%venice -m krea-v2-medium --style-ref {cred_url()} -W 256 -H 256\na castle",
        f"%venice upscale {cred_url()}",
        f"%%venice edit -i alice:{SECRET}@example.com/photo.png\nmake it night",
    ],
    ids=["edit", "style-ref", "upscale", "bare-credentials"],
)
def test_magic_cells_with_a_url_password_never_show_it(ip, server, source):
    with restored_traits(ip):
        warm(ip, server)
        outcome, cap = run(ip, source)
    shown = seen(cap) + str(outcome.error_in_exec) + repr(outcome.error_in_exec)
    assert outcome.error_in_exec is not None  # each fails (unreachable URL, or refused)
    assert SECRET not in shown, shown[:500]


# ---- the function itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"could not fetch {cred_url()} (refused)",
            "could not fetch http://127.0.0.1:9/photo.png (refused)",
        ),
        (
            f"at https://u:{SECRET}@h.example/x?token={SECRET}&a=1",
            "at https://h.example/x?token=***&a=1",
        ),
        (f"bare alice:{SECRET}@example.com/p.png", "bare example.com/p.png"),
        (f'json "https:\\/\\/alice:{SECRET}@h.example\\/p"', 'json "https:\\/\\/h.example\\/p"'),
        (
            "mail bob@example.com, ratio 16:9, at @home",
            "mail bob@example.com, ratio 16:9, at @home",
        ),
    ],
)
def test_redact_text_cuts_credentials_and_keeps_the_rest(text, expected):
    assert redact_text(text) == expected


def test_an_error_message_built_later_is_redacted_too():
    err = APIError("the request failed", status=400)
    err.message += f" (at {cred_url()})"
    err.hint = f"retry with {cred_url()}"
    assert SECRET not in all_text(err)
    assert SECRET not in error_line(ValueError(f"bad {cred_url()}"))


def test_redact_value_walks_records_and_stays_linear_on_big_html():
    record = {"a": [cred_url(), ("x", cred_url())], "n": 3, "b": b"raw"}
    assert SECRET not in json.dumps(redact_value(record), default=str)
    # A whole HTML output with a big data URI (an open-ended regex here was quadratic).
    big = '<img src="data:image/png;base64,' + "A" * 2_000_000 + f'"> {cred_url()}'
    out = redact_text(big)
    assert SECRET not in out and out.endswith("http://127.0.0.1:9/photo.png")


# ---- a URL with a password that works: every record of the result is searched ---------------


class _AuthImages:
    """A loopback image server that wants HTTP basic auth (alice and the secret)."""

    def __init__(self) -> None:
        import base64 as b64
        import io
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (320, 256), (40, 90, 200)).save(buf, "PNG")
        png = buf.getvalue()
        wanted = "Basic " + b64.b64encode(f"alice:{SECRET}".encode()).decode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                ok = self.headers.get("Authorization") == wanted
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "image/png" if ok else "text/plain")
                body = png if ok else b"who are you?"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def auth_images():
    server = _AuthImages()
    try:
        yield server
    finally:
        server.close()


def everything_written(root) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def test_a_working_url_with_a_password_leaves_no_trace_in_any_record(
    local_server, tmp_path, auth_images
):
    session = VeniceSession(
        Settings(
            backend="venice",
            base_url=local_server.base_url,
            cache_enabled=True,
            cache_dir=str(tmp_path / "cache"),
            max_retries=0,
        )
    )
    session.login("sk-redact-test-0123456789")
    url = cred_url(auth_images.port)
    results = [
        venice_nb.edit(url, "make it night", session=session),
        venice_nb.remove_background(url, session=session),  # cached: the cache is searched too
    ]
    shown = []
    for result in results:
        assert result.images
        result.save(tmp_path / "saved")
        bundle = result._repr_mimebundle_()
        shown += [repr(result), json.dumps(bundle[0].get("text/html")), json.dumps(bundle[1])]
        shown += [json.dumps(result.provenance(), default=str), repr(result.lineage)]
        shown += [repr(result.compare()), json.dumps(result.compare()._repr_mimebundle_()[0])]
    shown.append(everything_written(tmp_path))
    assert any(f"127.0.0.1:{auth_images.port}/photo.png" in text for text in shown)
    for text in shown:
        assert SECRET not in text, text[:300]


def test_the_magic_with_a_working_url_password_shows_and_saves_none(
    ip, server, tmp_path, auth_images
):
    url = cred_url(auth_images.port)
    with restored_traits(ip):
        warm(ip, server)
        shown = []
        for source in (
            f"%%venice edit -i {url} -o night --save {tmp_path}\nmake it night",
            f"%%venice -m krea-v2-medium --style-ref {url} -W 256 -H 256 -s 4 -o castle "
            f"--save {tmp_path}\na castle",
        ):
            outcome, cap = run(ip, source)
            assert outcome.error_in_exec is None, seen(cap)
            shown.append(seen(cap))
        shown += [repr(ip.user_ns["night"]), json.dumps(ip.user_ns["castle"].provenance())]
    shown.append(everything_written(tmp_path))
    assert server.received[-1].body["style_references"][0]["image"] == url  # sent as given
    for text in shown:
        assert SECRET not in text, text[:300]
