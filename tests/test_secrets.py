"""The API key never leaves the process memory: a canary key, a real notebook run, a full search.

A fresh ``sk-canary-<uuid4>`` key goes into the kernel's ``VENICE_API_KEY``. The notebook of
``canary_notebook.py`` is executed with nbclient against three LocalServers (one accepting only the
canary key, one rejecting it with 401, one with no balance for 402), all logging their requests.
Then everything the project wrote is searched by ``leak_scan.Scan``: the executed .ipynb (sources,
outputs, metadata, widget state, base64 images decoded and their PNG text/EXIF read), every file
under the run's folder (cache, saved images and sidecars, IPython dir, kernel stdout/stderr, any
log), the servers' logs and request records. Zero hits is the pass mark; the same search for the
notebook's control string must find it in each kind of place, so a search reading the wrong files
fails.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import uuid
from pathlib import Path

import pytest
from canary_notebook import build, execute
from leak_scan import Scan, needles_for

from venice_nb.apikey import mask
from venice_nb.client import VeniceClient
from venice_nb.errors import VeniceError
from venice_nb.ratelimit import RetryPolicy
from venice_nb.server import LocalServer
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings

HEX = uuid.uuid4().hex
KEY = f"sk-canary-{HEX}"
URL_SECRET = f"url-pw-{HEX[:12]}"  # the password of a base URL with user:password
MARK = f"ctl{uuid.uuid4().hex[:10]}"  # in every prompt: the control string
WIDGETS = "application/vnd.jupyter.widget-state+json"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Execute the canary notebook once; yields what the tests search."""
    root = tmp_path_factory.mktemp("canary")
    main = LocalServer(api_keys={KEY})  # only the canary works: proves the kernel sent it
    refuses = LocalServer(api_keys={"other"})  # 401
    broke = LocalServer(api_keys={KEY}, balance_usd=0.0)  # 402
    servers = {"main": main, "401": refuses, "402": broke}
    server_log = io.StringIO()
    with contextlib.ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server)
            server.log_requests = True
        nb = build(MARK, main.base_url, refuses.base_url, broke.base_url, root / "work")
        env = {
            "VENICE_API_KEY": KEY,
            "VENICE_BASE_URL": main.base_url,
            "CANARY_CREDENTIALS_URL": main.base_url.replace("://", f"://alice:{URL_SECRET}@"),
            "IPYTHONDIR": str(root / "ipython"),
            "XDG_CACHE_HOME": str(root / "xdg-cache"),
        }
        with contextlib.redirect_stderr(server_log):  # the servers log to sys.stderr
            executed = execute(nb, root, env)
        received = {name: list(s.received) for name, s in servers.items()}
        counts = {name: (s.request_count, s.generate_count) for name, s in servers.items()}
    yield {
        "root": root,
        "executed": executed,
        "server_log": server_log.getvalue(),
        "received": received,
        "counts": counts,
    }


def search(run, needles: list[bytes]) -> tuple[Scan, int]:
    """Search every place of the run for ``needles``; returns the scan and the file count."""
    scan = Scan(needles)
    executed = run["executed"]
    files = scan.tree(run["root"])  # the notebook, kernel streams, cache, saved files, logs...
    widget_state = executed.nb.metadata.get("widgets", {}).get(WIDGETS, {})
    scan.text("widget state", json.dumps(widget_state))
    scan.text("server log (stderr)", run["server_log"])
    for name, records in run["received"].items():
        for i, record in enumerate(records):
            scan.text(f"server {name} record {i}", repr(record))
            scan.text(f"server {name} body {i}", json.dumps(record.body, default=str))
    return scan, files


def outputs_text(cells) -> str:
    """Streams, display data and tracebacks of ``cells``, as one string."""
    parts = []
    for cell in cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(json.dumps(output.get("data", {})))
            parts.extend(output.get("traceback", []))
    return "\n".join(parts)


# ---- the run itself did what it should ----------------------------------------------------------


@pytest.mark.slow  # executes the whole canary notebook (the run fixture)
def test_the_notebook_used_the_canary_key_on_every_surface(run):
    nb = run["executed"].nb
    text = outputs_text(nb.cells)
    _, generated = run["counts"]["main"]
    assert generated >= 10, run["counts"]  # magic cells, sweeps, openai route, panel
    assert all(r.has_auth for r in run["received"]["main"] if r.method == "POST")
    assert run["counts"]["401"][1] >= 3 and run["counts"]["402"][1] >= 2
    assert "Check your key" in text  # the 401 hint, from the magic and the panel
    assert "Top up your Venice balance" in text  # the 402 hint
    saved = sorted(p.suffix for p in (run["root"] / "work").rglob("*") if p.is_file())
    assert {".png", ".jpg", ".webp", ".json"} <= set(saved), saved
    assert any((run["root"] / "work" / "cache").rglob("meta.json")), "the cache was not written"
    state = nb.metadata.get("widgets", {}).get(WIDGETS, {}).get("state", {})
    assert any(m.get("model_name") == "ImageModel" for m in state.values()), "no panel images"


# ---- the search --------------------------------------------------------------------------------


@pytest.mark.slow  # executes the whole canary notebook (the run fixture)
def test_the_canary_key_appears_nowhere(run):
    """Nor the password of the base URL the batch went through (its manifest, sidecars,
    thumbnails, contact sheets and gallery included)."""
    scan, files = search(run, [*needles_for(KEY, HEX), URL_SECRET.encode()])
    print(
        f"canary search: {len(scan.places)} places ({files} files), {scan.pieces} pieces "
        f"searched with decoding, {len(scan.hits)} hits"
    )
    assert files >= 20 and len(scan.places) >= 60
    assert scan.hits == []


@pytest.mark.slow  # executes the whole canary notebook (the run fixture)
def test_the_search_finds_the_control_string_in_every_kind_of_place(run):
    """The same search, for a string that IS there: proves it reads the right bytes."""
    scan, _ = search(run, [MARK.encode()])
    hits = scan.hits

    def where(pattern: str) -> list[str]:
        return [h for h in hits if re.search(pattern, h)]

    assert where(r"^canary\.ipynb: "), "notebook text"
    assert where(r"^canary\.ipynb > .*image metadata"), "EXIF inside a notebook image"
    assert where(r"^widget state > .*image metadata"), "EXIF inside a panel image widget buffer"
    assert where(r"^widget state: "), "panel widget values"
    assert where(r"^work/saved/png/.*\.png"), "saved PNG (iTXt)"
    assert where(r"^work/saved/jpeg/.*\.jpg"), "saved JPEG (EXIF)"
    assert where(r"^work/saved/webp/.*\.webp"), "saved WebP (EXIF chunk)"
    assert where(r"^work/saved/.*\.json"), "sidecars"
    assert where(r"^work/panel-saved/"), "files saved from the panel"
    assert where(r"^work/cache/.*meta\.json"), "cache entries"
    assert where(r"^kernel\.stdout"), "the kernel's stdout"
    assert where(r"^kernel\.stderr"), "the kernel's stderr"
    assert where(r"^server main body"), "server records"
    assert where(r"^work/batch/manifest\.jsonl: "), "the batch's manifest"
    assert where(r"^work/batch/.*\.json: "), "the batch's sidecars"
    assert where(r"^work/sheets/lot\.html: "), "the HTML contact sheet"
    assert where(r"^canary\.ipynb: .*") and "venice-nb-batch" in run["executed"].path.read_text()
    assert any(p.startswith("work/sheets/lot.png") for p in scan.places), "the PNG contact sheet"
    assert any(p.startswith("work/batch/thumbs/") for p in scan.places), "the gallery's thumbnails"
    assert "/image/generate" in run["server_log"], "the server log was captured"


def test_a_planted_key_would_be_found():
    """The scanner itself fails on a leak, including encoded and partial ones."""
    import base64

    needles = needles_for(KEY, HEX)
    for leaked in (
        KEY,
        f"Bearer {HEX}",
        "key=" + HEX[3:17],
        base64.b64encode(f"x{KEY}y".encode()).decode(),
        json.dumps({"image/png": base64.b64encode(b"\x00" + KEY.encode()).decode()}),
    ):
        scan = Scan(needles)
        scan.text("planted", leaked)
        assert scan.hits, leaked
    scan = Scan(needles)
    scan.text("clean", f"api_key: {mask(KEY)} and {HEX[:11]}")
    assert scan.hits == []


# ---- reprs and the config show the key masked --------------------------------------------------

MASKED = re.compile(r"\*{4}([0-9A-Za-z_-]*)")


def assert_masked(text: str) -> None:
    """The key's random part never shows more than its last two characters."""
    assert mask(KEY) in text, text
    for suffix in MASKED.findall(text):
        assert len(suffix) <= 2 or not HEX.endswith(suffix), text
    scan = Scan(needles_for(KEY, HEX))
    scan.text("repr", text)
    assert scan.hits == [], text


@pytest.mark.slow  # executes the whole canary notebook (the run fixture)
def test_notebook_reprs_and_config_show_the_key_masked(run):
    nb = run["executed"].nb
    repr_cells = [c for c in nb.cells if c.source.startswith("from venice_nb import get_session")]
    assert len(repr_cells) == 2
    for cell in repr_cells[:1]:  # while the login key is set
        text = "".join(o.get("text", "") for o in cell.outputs)
        for name in ("VeniceClient", "VeniceSession", "VeniceMagics", "dict", "client vars"):
            assert name in text
        assert_masked(text)
    config = [c for c in nb.cells if c.source == "%venice config"]
    for cell in config:
        text = outputs_text([cell])
        assert f"api_key: {mask(KEY)}" in text, text
        assert_masked(text)


def test_reprs_in_process_show_the_key_masked(monkeypatch, local_server):

    from venice_nb.magics import VeniceMagics

    monkeypatch.setenv("VENICE_API_KEY", KEY)
    explicit = VeniceClient(KEY, base_url=local_server.base_url)
    from_env = VeniceClient(base_url=local_server.base_url)
    session = VeniceSession(Settings(backend="venice", base_url=local_server.base_url))
    session.login(KEY)
    magics = VeniceMagics(None, session=session)
    for obj in (explicit, from_env, session, magics, session.client(), session.describe()):
        assert_masked(repr(obj))
        assert_masked(str(obj))
    assert_masked(str(vars(explicit)))
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(explicit)


# ---- the key is never an option ----------------------------------------------------------------


def test_the_key_is_never_a_magic_option():
    from IPython.core.error import UsageError

    from venice_nb.magics import VeniceMagics

    parser = VeniceMagics.venice_cell.parser
    strings = [s for action in parser._actions for s in action.option_strings]
    assert strings and not [s for s in strings if "key" in s.lower() or "token" in s.lower()]
    help_text = parser.format_help() + (VeniceMagics.venice_cell.__doc__ or "")
    assert "--api-key" not in help_text and "--key" not in help_text
    assert "VENICE_API_KEY or %venice login, never from an option" in help_text
    magics = VeniceMagics(None, session=VeniceSession())
    with pytest.raises(UsageError) as info:
        magics.venice_cell(f"--api-key {KEY}", "a red fox")
    assert "unknown option '--api-key'" in str(info.value)
    assert KEY not in str(info.value) and HEX[:12] not in str(info.value)
    with pytest.raises(UsageError) as info:
        magics.venice_cell(f"--api-key={KEY}", "a red fox")
    assert KEY not in str(info.value) and HEX[:12] not in str(info.value)


def test_results_saved_files_and_provenance_hold_no_key(tmp_path: Path, local_server):
    """Save paths, files and sidecars come from the result, which never holds the key."""
    settings = Settings(backend="venice", base_url=local_server.base_url, cache_enabled=False)
    session = VeniceSession(settings)
    session.login(KEY)
    from venice_nb.operations.generate import GenerateRequest

    result = session.generate(GenerateRequest(model="z-image-turbo", prompt="a fox", seed=1))
    text = repr(result) + json.dumps(result.provenance(), default=str)
    for path in result.save(tmp_path):
        text += path.name + path.read_bytes().decode("latin-1")
    scan = Scan(needles_for(KEY, HEX))
    scan.text("result", text)
    assert scan.hits == []


# ---- credentials of every kind: URL passwords, proxy passwords, secret query values ------------

PROXY_SECRET = f"proxy-pw-{HEX[12:24]}"


def test_credentials_in_a_base_url_appear_in_no_output_repr_error_or_log(
    ip, server, tmp_path, caplog
):
    """``%venice config`` printed ``user:password`` from the base URL, and the saved notebook
    kept it. Every place a person sees is searched for the password."""
    from magics_harness import magics, restored_traits, seen
    from magics_harness import run as run_cell

    from venice_nb.session import get_session

    port = server.base_url.split(":")[2].split("/")[0]
    with_password = f"http://alice:{URL_SECRET}@127.0.0.1:{port}/api/v1"
    shown: list[str] = []
    with restored_traits(ip), caplog.at_level("DEBUG"):
        for source in (
            f"%config VeniceMagics.base_url = {with_password!r}",
            "%venice config",
            "%config VeniceMagics",
            "%config VeniceMagics.base_url",
            f"%%venice -m z-image-turbo -W 64 -H 64 -s 3 -o shot --save {tmp_path / 'saved'}\n"
            "a fox",
            # refused: no scheme, and the pasted endpoint; then the refusal of the next cell
            "%config VeniceMagics.base_url = 'alice:" + URL_SECRET + "@127.0.0.1:9/api/v1'",
            "%%venice -s 1\na fox",
            f"%config VeniceMagics.base_url = {with_password + '/image/generate'!r}",
        ):
            outcome, cap = run_cell(ip, source)
            shown += [seen(cap), repr(outcome.result), str(outcome.error_in_exec)]
        session = get_session()
        shown += [repr(session.settings), repr(session), str(session.describe())]
        shown += [repr(magics(ip)), repr(session.client()), repr(ip.user_ns.get("shot"))]
        shown += [json.dumps(ip.user_ns["shot"].provenance(), default=str)]
    shown += [r.getMessage() for r in caplog.records]
    shown += [p.read_bytes().decode("latin-1") for p in (tmp_path / "saved").rglob("*")]
    assert any("alice" not in s and "127.0.0.1" in s for s in shown)  # the search reads output
    for text in shown:
        assert URL_SECRET not in text, text[:300]


def test_a_dead_server_behind_a_url_with_a_password_is_named_without_it():
    with socket_closed() as port:
        url = f"http://alice:{URL_SECRET}@127.0.0.1:{port}/api/v1"
        client = VeniceClient(KEY, base_url=url, retry=RetryPolicy(max_retries=0))
        with client, pytest.raises(VeniceError) as info:
            client.models()
    assert "127.0.0.1" in str(info.value) and URL_SECRET not in str(info.value)
    assert URL_SECRET not in repr(client) and URL_SECRET not in repr(info.value)


def test_proxy_credentials_appear_in_no_error(monkeypatch):
    with socket_closed() as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://bob:{PROXY_SECRET}@127.0.0.1:{port}")
        monkeypatch.delenv("http_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = VeniceClient(
            KEY, base_url="http://venice.test/api/v1", retry=RetryPolicy(max_retries=0)
        )
        with client, pytest.raises(VeniceError) as info:
            client.models()
    message = info.value.one_line()
    assert f"through the proxy http://127.0.0.1:{port} (set by $HTTP_PROXY)" in message
    assert PROXY_SECRET not in message and "bob" not in message


def test_secret_query_values_are_redacted_wherever_a_url_is_shown():
    from venice_nb.errors import redact_url

    shown = redact_url(f"https://h.example/api/v1?api_key={URL_SECRET}&token={URL_SECRET}&x=1")
    assert URL_SECRET not in shown and shown.endswith("&x=1")
    assert redact_url(f"alice:{URL_SECRET}@h.example/api/v1") == "h.example/api/v1"


@contextlib.contextmanager
def socket_closed():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


# ---- the classroom gateway: its ledger, its log and the teacher's report -----------------------


@pytest.mark.slow  # a gateway process in front of a local upstream
def test_the_gateway_s_ledger_log_and_report_hold_no_key_token_or_password(tmp_path):
    """The canary key as the teacher's key, the upstream behind a URL with user:password: the
    SQLite ledger (and its journal), the log (prompts logged too) and the report (table, CSV)
    are searched like the notebook's files; the student's name and prompt are found there."""
    pytest.importorskip("starlette")
    import subprocess
    import sys

    import requests
    from classroom_support import ROOT, GatewayProcess, add_students

    ledger = tmp_path / "class.sqlite3"
    student = f"stu{MARK}"
    (token,) = add_students(ledger, {student: 1.0}).values()
    with LocalServer(api_keys={KEY}) as upstream:
        url = upstream.base_url.replace("://", f"://alice:{URL_SECRET}@")
        log = tmp_path / "gateway.log"
        with GatewayProcess(ledger, url, "--log-prompts", log=log, key=KEY) as gateway:
            for prompt in (f"{MARK} a fox", ""):  # a generation, and one the upstream refuses
                requests.post(
                    gateway.base_url + "/image/generate",
                    json={"model": "z-image-turbo", "prompt": prompt, "width": 256, "height": 256},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=60,
                )
            banner = "".join(gateway.banner)
        assert "status=200" in log.read_text() and "status=400" in log.read_text()
    reports = [
        subprocess.run(
            [sys.executable, "-m", "venice_nb.classroom", "report", "--ledger", str(ledger), *csv],
            capture_output=True, text=True, timeout=120, cwd=ROOT, check=True,
        ).stdout
        for csv in ((), ("--csv",))
    ]  # fmt: skip
    needles = [*needles_for(KEY, HEX), URL_SECRET.encode(), token.encode(), token[4:20].encode()]
    for what, control in ((needles, None), ([MARK.encode()], MARK)):
        scan = Scan(what)
        files = scan.tree(tmp_path)  # the ledger, its -wal/-journal if any, the log
        scan.text("gateway banner", banner)
        for i, report in enumerate(reports):
            scan.text(f"report {i}", report)
        if control is None:
            assert files >= 2 and scan.hits == [], scan.hits
        else:  # the same search finds the student and the prompt in each kind of place
            assert {h.split(":")[0] for h in scan.hits} >= {"class.sqlite3", "gateway.log",
                                                           "report 0", "report 1"}, scan.hits  # fmt: skip
