"""What the classroom tests share: a real gateway process (``python -m venice_nb.classroom serve``)
in front of a real upstream on 127.0.0.1, students' tokens, and leak checks.

The gateway runs as a subprocess, as a teacher runs it, so ``kill -9`` is a real kill and its log
is the real log (kept in a file for the leak checks).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from venice_nb.classroom.ledger import SqliteLedger

ROOT = Path(__file__).resolve().parent.parent
TEACHER_KEY = "sk-teacher-9d2c7e41b8a05f36"
KEY_FRAGMENT = "9d2c7e41b8a05f36"


class GatewayProcess:
    """``serve`` in a child process; ``base_url`` once it says where it listens."""

    def __init__(
        self, ledger: Path, upstream: str, *flags: str, log: Path, key: str = TEACHER_KEY
    ) -> None:
        self.key = key
        self.ledger = ledger
        self.upstream = upstream
        self.flags = flags
        self.log_path = log
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.banner: list[str] = []

    def start(self, timeout: float = 60.0) -> GatewayProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VENICE_")}
        env["VENICE_API_KEY"] = self.key
        cmd = [sys.executable, "-m", "venice_nb.classroom", "serve", "--ledger", str(self.ledger),
               "--upstream", self.upstream, "--port", "0", *self.flags]  # fmt: skip
        log = open(self.log_path, "a")  # noqa: SIM115 - the child writes it for its whole life
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=ROOT
        )
        log.close()
        assert self.proc.stdout is not None
        found: list[str] = []

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.banner.append(line)
                if "classroom gateway on " in line:
                    found.append(line.split("classroom gateway on ", 1)[1].split()[0])
                    break

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            self.kill()
            raise RuntimeError(f"the gateway did not start: {''.join(self.banner)}{self.log()}")
        self.base_url = found[0]
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        """``kill -9``: no shutdown handler, no last commit."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def add_students(ledger_path: Path, budgets: dict[str, float]) -> dict[str, str]:
    """Students straight into the ledger (the CLI's own tests cover ``add``)."""
    ledger = SqliteLedger(ledger_path)
    try:
        return {name: ledger.add(name, usd) for name, usd in budgets.items()}
    finally:
        ledger.close()


def post(base: str, route: str, token: str | None, body: Any, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(base + route, json=body, headers=headers, timeout=60, **kw)


def posts(server: Any) -> list[Any]:
    """The requests the upstream received other than reading the catalogue."""
    return [r for r in server.received if r.method == "POST"]


def wait_until(check: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return bool(check())


def assert_secret_free(text: str, tokens: list[str] | tuple[str, ...] = ()) -> None:
    assert KEY_FRAGMENT not in text, "the teacher's key leaked"
    for token in tokens:
        assert token not in text, "a student's token leaked"
        assert token[4:20] not in text, "a piece of a student's token leaked"
