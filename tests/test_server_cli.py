"""``python -m venice_nb.server`` serves in the foreground, logs briefly, and exits cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return line
    proc.kill()
    pytest.fail(f"server never printed {needle!r}; got {seen!r}, stderr={proc.stderr.read()!r}")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_and_exits_cleanly(stop_signal: signal.Signals) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "venice_nb.server", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = _wait_for_line(proc, "listening on")
        base = f"http://127.0.0.1:{port}/api/v1"
        assert base in line
        assert f"VENICE_BASE_URL={base}" in _wait_for_line(proc, "VENICE_BASE_URL")
        req = urllib.request.Request(
            f"{base}/image/generate",
            method="POST",
            data=json.dumps(
                {"model": "z-image-turbo", "prompt": "cli", "width": 64, "height": 64}
            ).encode(),
            headers={"Authorization": "Bearer cli-secret-key", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=20) as resp:
            assert resp.status == 200
            assert json.loads(resp.read())["images"]
        with urllib.request.urlopen(f"{base}/image/styles", timeout=20) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(stop_signal)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "POST /api/v1/image/generate -> 200" in err
    assert "cli-secret-key" not in err + out
    assert "stopped." in out


def test_cli_no_auth_and_latency_flags() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "venice_nb.server",
            "--port",
            str(port),
            "--no-auth",
            "--latency",
            "0.2",
            "--timing",
            "additive",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for_line(proc, "listening on")
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/image/generate",
            method="POST",
            data=b'{"model":"z-image-turbo","prompt":"x","width":64,"height":64}',
            headers={"Content-Type": "application/json"},
        )
        t0 = time.monotonic()
        with urllib.request.urlopen(req, timeout=20) as resp:
            assert resp.status == 200
            t = json.loads(resp.read())["timing"]
        assert time.monotonic() - t0 >= 0.2
        assert t["inferenceDuration"] >= 200  # --latency is render time
        parts = t["inferenceQueueTime"] + t["inferencePreprocessingTime"] + t["inferenceDuration"]
        assert t["total"] == parts  # --timing additive
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and err == ""


def test_cli_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "venice_nb.server", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert out.returncode == 2
    assert "cannot listen" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "argv, expect",
    [
        (["--port", "-5"], "--port: must be from 0 to 65535"),
        (["--port", "70000"], "--port: must be from 0 to 65535"),
        (["--port", "http"], "--port: must be a whole number, got 'http'"),
        (["--rate-limit", "0"], "--rate-limit: must be a whole number of at least 1, got 0"),
        (["--rate-limit", "-3"], "--rate-limit: must be a whole number of at least 1"),
        (["--latency", "-1"], "--latency: must be a number of at least 0"),
        (["--latency", "nan"], "--latency: must be a number of at least 0"),
        (["--balance", "-10"], "--balance: must be a number of at least 0"),
        (["--balance-diem", "-1"], "--balance-diem: must be a number of at least 0"),
        (["--timing", "sum"], "--timing: invalid choice: 'sum'"),
    ],
)
def test_bad_cli_values_exit_2_with_one_line(argv: list[str], expect: str) -> None:
    """Like argparse: the usage, one ``error:`` line naming the option and the range, status 2."""
    proc = subprocess.run(
        [sys.executable, "-m", "venice_nb.server", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and expect in errors[0], proc.stderr
    assert proc.stdout == ""
