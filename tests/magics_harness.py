"""What the magic tests share: a real InteractiveShell with the extension, pointed at a LocalServer.

The session is configured the way a user would (``%config VeniceMagics.backend = 'venice'`` and a
``base_url``) with a canary key in ``VENICE_API_KEY``, so requests carry a real bearer key to the
test's own server and every test can look for that key in what a person would see.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import asdict
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

from venice_nb.server import LocalServer
from venice_nb.session import get_session
from venice_nb.settings import Settings

KEY = "sk-canary-7f3a9c2e5b1d4e60"
KEY_FRAGMENT = "7f3a9c2e5b1d"  # any recognisable piece of the key


def magics(ip: InteractiveShell) -> Any:
    return ip.magics_manager.registry["VeniceMagics"]


def config(ip: InteractiveShell, **values: Any) -> None:
    """``%config VeniceMagics.name = value`` for each item, as a user would type it."""
    for name, value in values.items():
        ip.run_line_magic("config", f"VeniceMagics.{name} = {value!r}")


@contextmanager
def magic_shell(server: LocalServer, tmp: Any) -> Iterator[InteractiveShell]:
    """The shared shell with venice_nb loaded and aimed at ``server``; restores everything."""
    old_key = os.environ.get("VENICE_API_KEY")
    os.environ["VENICE_API_KEY"] = KEY
    ip = InteractiveShell.instance()
    section = deepcopy(ip.config.get("VeniceMagics"))
    session = get_session()
    old_settings = session.settings
    ip.run_line_magic("reload_ext", "venice_nb")
    config(
        ip,
        backend="venice",
        base_url=server.base_url,
        cache_enabled=False,
        cache_dir=str(tmp / "cache"),
        save_dir=str(tmp / "saved"),
        max_retries=0,
        concurrency=4,
        cost_limit_usd=1.0,
    )
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "venice_nb")
        _restore_section(ip, section)
        session.login(None)
        session.configure(**asdict(old_settings))
        if old_key is None:
            os.environ.pop("VENICE_API_KEY", None)
        else:
            os.environ["VENICE_API_KEY"] = old_key


@contextmanager
def restored_traits(ip: InteractiveShell) -> Iterator[None]:
    """Undo any ``%config`` a test makes."""
    instance = magics(ip)
    before = {name: getattr(instance, name) for name in Settings.names()}
    section = deepcopy(ip.config.get("VeniceMagics"))
    try:
        yield
    finally:
        _restore_section(ip, section)
        instance = magics(ip)
        for name, value in before.items():
            setattr(instance, name, value)  # also clears a refusal the test left pending


def _restore_section(ip: InteractiveShell, section: Any) -> None:
    """%config remembers values in the shell's config; put back what was there."""
    ip.config.pop("VeniceMagics", None)
    if section is not None:
        ip.config["VeniceMagics"] = section


def warm(ip: InteractiveShell, server: LocalServer) -> None:
    """Fetch catalogue and styles once so that counting requests counts only generations."""
    client = get_session().client()
    client.models()
    client.styles()
    server.clear_faults()
    server.reset_counters()


@contextmanager
def fresh_shell(ip: InteractiveShell, server: LocalServer) -> Iterator[None]:
    """A test's shell and server as it found them: no latency or fault left over from another
    test, catalogue warm and counters at zero, and its ``%config`` undone afterwards."""
    server.latency = 0.0
    with restored_traits(ip):
        warm(ip, server)
        yield
    server.clear_faults()
    server.latency = 0.0


def posts(server: LocalServer) -> list[str]:
    """The API paths (``/image/edit``...) of the POSTs the server received, in order."""
    return [r.path.rsplit("/api/v1", 1)[-1] for r in server.received if r.method == "POST"]


def line(ip: InteractiveShell, text: str) -> tuple[Any, CapturedIO]:
    """Run ``%venice text`` directly; exceptions propagate."""
    with capture_output() as cap:
        result = ip.run_line_magic("venice", text)
    return result, cap


def cell(ip: InteractiveShell, line: str, body: str) -> tuple[Any, CapturedIO]:
    """Run ``%%venice line`` + body directly; exceptions propagate."""
    with capture_output() as cap:
        result = ip.run_cell_magic("venice", line, body)
    return result, cap


def run(ip: InteractiveShell, source: str) -> tuple[Any, CapturedIO]:
    """Run a cell the way a notebook does (errors shown, not raised)."""
    with capture_output() as cap:
        outcome = ip.run_cell(source)
    return outcome, cap


def seen(cap: CapturedIO) -> str:
    """Everything a person (or the saved notebook) gets from a cell: streams, data, metadata."""
    parts = [cap.stdout, cap.stderr]
    for output in cap.outputs:
        parts.append(json.dumps(output.data, default=str))
        parts.append(json.dumps(output.metadata, default=str))
    return "\n".join(parts)


def texts(cap: CapturedIO) -> list[str]:
    """The text/plain of every displayed output, updates included, in order."""
    return [o.data.get("text/plain", "") for o in cap.outputs]


def assert_no_key(*texts_: str) -> None:
    for text in texts_:
        assert KEY not in text
        assert KEY_FRAGMENT not in text
