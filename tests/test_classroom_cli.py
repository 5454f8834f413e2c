"""The teacher's commands as a teacher types them: ``python -m venice_nb.classroom ...``."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest
from classroom_support import ROOT, TEACHER_KEY

from venice_nb.classroom.cli import main
from venice_nb.classroom.ledger import SqliteLedger, default_ledger_path, to_micro


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("VENICE_")}
    return subprocess.run(
        [sys.executable, "-m", "venice_nb.classroom", *args],
        capture_output=True, text=True, cwd=ROOT, env={**base, **(env or {})}, timeout=60,
    )  # fmt: skip


@pytest.mark.slow
def test_add_prints_the_token_alone_on_the_last_line_and_keeps_only_its_hash(tmp_path):
    ledger = tmp_path / "class.sqlite3"
    out = cli("add", "ada", "--budget", "2.50", "--ledger", str(ledger))
    assert out.returncode == 0, out.stderr
    token = out.stdout.splitlines()[-1]
    assert token.startswith("vcl_") and " " not in token and len(token) >= 40
    led = SqliteLedger(ledger)
    assert led.authenticate(token).budget == to_micro(2.5)
    led.close()
    listing = cli("list", "--ledger", str(ledger))
    assert "ada" in listing.stdout and "$2.50" in listing.stdout and token not in listing.stdout


def test_list_report_revoke_budget(tmp_path, capsys):
    ledger = str(tmp_path / "class.sqlite3")
    assert main(["add", "ada", "--budget", "1", "--ledger", ledger]) == 0
    ada_token = capsys.readouterr().out.splitlines()[-1]
    assert main(["add", "bob", "--budget", "0.5", "--ledger", ledger]) == 0
    bob_token = capsys.readouterr().out.splitlines()[-1]
    led = SqliteLedger(ledger)
    led.settle(led.reserve("ada", to_micro(0.03)), to_micro(0.03), images=3)
    led.count_refusal("bob")
    led.close()
    assert main(["budget", "bob", "2", "--ledger", ledger]) == 0
    assert capsys.readouterr().out == "bob's budget is now $2.00\n"
    assert main(["revoke", "ada", "--ledger", ledger]) == 0
    assert capsys.readouterr().out == "revoked ada: the token no longer works\n"
    assert main(["report", "--ledger", ledger]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "student", "budget", "spent", "reserved", "left", "images", "requests", "refusals", "status"
    ]  # fmt: skip
    assert table[1].split() == ["ada", "$1.00", "$0.03", "$0.00", "$0.97", "3", "1", "0", "revoked"]
    assert table[2].split() == ["bob", "$2.00", "$0.00", "$0.00", "$2.00", "0", "0", "1", "active"]
    assert table[3] == "2 students, $0.03 spent, 3 images"
    assert main(["report", "--csv", "--ledger", ledger]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == {
        "student": "ada", "budget_usd": "1.0", "spent_usd": "0.03", "reserved_usd": "0.0",
        "left_usd": "0.97", "images": "3", "requests": "1", "refusals": "0", "status": "revoked",
    }  # fmt: skip
    assert ada_token not in str(rows) and bob_token not in str(rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["revoke", "zed"], "error: no student named 'zed'; `list` shows the names"),
        (["budget", "zed", "1"], "error: no student named 'zed'"),
        (["add", "a b", "--budget", "1"], "error: student name 'a b' is not usable"),
    ],
)
def test_admin_mistakes_are_one_line(tmp_path, capsys, args, message):
    assert main([*args, "--ledger", str(tmp_path / "l.sqlite3")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "ada", "--budget", "-1"], "must be from 0 to 1000000 dollars"),
        (["add", "ada", "--budget", "lots"], "must be dollars, e.g. 2.50"),
        (["serve", "--max-resolution", "8K"], "must be one of 1K, 2K, 4K"),
        (["serve", "--max-variants", "9"], "must be from 1 to 4"),
        (["serve", "--models", ","], "give model ids separated by commas"),
        (["serve", "--key", "sk-x"], "unrecognized arguments: --key"),
    ],
)
def test_bad_flags_are_refused_by_the_parser(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit):
        main([*args, "--ledger", str(tmp_path / "l.sqlite3")])
    assert message in capsys.readouterr().err


def test_serve_needs_the_key_in_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("VENICE_API_KEY", raising=False)
    assert main(["serve", "--ledger", str(tmp_path / "l.sqlite3")]) == 2
    assert "set VENICE_API_KEY to the teacher's Venice key" in capsys.readouterr().err


def test_serve_refuses_a_key_that_cannot_travel_without_echoing_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VENICE_API_KEY", TEACHER_KEY + "\u00e9x")
    assert main(["serve", "--ledger", str(tmp_path / "l.sqlite3")]) == 2
    err = capsys.readouterr().err
    assert "non-ASCII" in err and TEACHER_KEY not in err


def test_the_default_ledger_lives_in_the_users_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert default_ledger_path() == tmp_path / "venice_nb" / "classroom.sqlite3"


def test_the_dockerfile_and_the_readme_use_commands_that_parse():
    import json
    import re
    import shlex

    from venice_nb.classroom.cli import parser

    docker = (ROOT / "Dockerfile").read_text()
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", docker, re.M).group(1))
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", docker, re.M).group(1))
    assert entry == ["python", "-m", "venice_nb.classroom"]
    assert parser().parse_args(cmd).host == "0.0.0.0"
    assert 'pip install ".[classroom]"' in docker and "VENICE_API_KEY" not in docker.split("CMD")[1]
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Classroom", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^python -m venice_nb\.classroom (.+?)(?:\s+#.*)?$", section, re.M)
    assert len(commands) == 3
    for command in commands:
        parser().parse_args(shlex.split(command))
    assert "%venice classroom https://" in section


def test_serve_refuses_an_upstream_that_is_not_a_base_url(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VENICE_API_KEY", TEACHER_KEY)
    args = ["serve", "--upstream", "api.venice.ai/api/v1", "--ledger", str(tmp_path / "l.sqlite3")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--upstream 'api.venice.ai/api/v1' must start with http:// or https://" in err
    assert TEACHER_KEY not in err


def test_a_budget_below_what_was_spent_says_nothing_more_can_be_spent(tmp_path, capsys):
    ledger = str(tmp_path / "class.sqlite3")
    main(["add", "bob", "--budget", "1", "--ledger", ledger])
    led = SqliteLedger(ledger)
    led.settle(led.reserve("bob", to_micro(0.03)), to_micro(0.03), images=3)
    led.close()
    capsys.readouterr()
    assert main(["budget", "bob", "0.01", "--ledger", ledger]) == 0
    assert capsys.readouterr().out == (
        "bob's budget is now $0.01; bob has $0.03 spent already, so can spend nothing more "
        "until the budget is raised above that\n"
    )
    assert main(["budget", "bob", "0.5", "--ledger", ledger]) == 0
    assert capsys.readouterr().out == "bob's budget is now $0.50\n"


def test_list_is_the_short_view(tmp_path, capsys):
    ledger = str(tmp_path / "class.sqlite3")
    main(["add", "ada", "--budget", "1", "--ledger", ledger])
    token = capsys.readouterr().out.splitlines()[-1]
    assert main(["list", "--ledger", ledger]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split() for line in out[:2]] == [
        ["student", "budget", "left", "status"],
        ["ada", "$1.00", "$1.00", "active"],
    ]
    assert token not in "\n".join(out)


def test_a_second_serve_on_a_live_ledger_refuses_before_touching_its_holds(tmp_path, capsys,
                                                                           monkeypatch):  # fmt: skip
    monkeypatch.setenv("VENICE_API_KEY", TEACHER_KEY)
    path = tmp_path / "class.sqlite3"
    live = SqliteLedger(path)  # the running gateway: it holds the ledger and one request
    live.add("gus", 0.10)
    live.claim()
    held = live.reserve("gus", to_micro(0.05))
    assert main(["serve", "--port", "0", "--ledger", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: another gateway (process ") and err.count("\n") == 1
    assert "stop it first, or give this one its own --ledger" in err
    assert live.open_reservations() == 1
    live.settle(held, to_micro(0.05), 1, "gus")
    assert live.student("gus").spent == to_micro(0.05)
    live.close()


def test_a_serve_that_cannot_listen_releases_nothing(tmp_path, capsys, monkeypatch):
    import socket

    monkeypatch.setenv("VENICE_API_KEY", TEACHER_KEY)
    path = tmp_path / "class.sqlite3"
    led = SqliteLedger(path)
    led.add("gus", 0.10)
    led.reserve("gus", to_micro(0.05))
    led.close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        assert main(["serve", "--port", port, "--ledger", str(path)]) == 2
    assert "error: cannot listen on 127.0.0.1:" in capsys.readouterr().err
    led = SqliteLedger(path)
    assert led.open_reservations() == 1
    led.close()


def test_serve_checks_models_against_the_upstream_before_anything(tmp_path, capsys, monkeypatch):
    from venice_nb.server import LocalServer

    monkeypatch.setenv("VENICE_API_KEY", TEACHER_KEY)
    path = tmp_path / "class.sqlite3"
    led = SqliteLedger(path)
    led.add("gus", 0.10)
    led.reserve("gus", to_micro(0.05))
    led.close()
    with LocalServer(api_keys={TEACHER_KEY}) as up:
        models = "qwen-image-2,nosuch-model,firered-image-edit,z-image-turb"
        url = up.base_url
        args = ["serve", "--upstream", url, "--port", "0", "--models", models]
        assert main([*args, "--ledger", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: --models takes generation models of {url}: 'nosuch-model' is not "
        "offered; 'firered-image-edit' is an edit model (--no-toolbox governs the toolbox); "
        "'z-image-turb' is not offered (did you mean 'z-image-turbo'?) "
        "(GET /models?type=image lists them)\n"
    )
    assert TEACHER_KEY not in err
    led = SqliteLedger(path)
    assert led.open_reservations() == 1  # refused before recovering anything
    led.close()


def test_an_unreadable_model_list_only_warns_at_start(tmp_path, capsys):
    import socket

    from venice_nb.apikey import wrap
    from venice_nb.classroom.cli import check_models

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/api/v1"
    assert check_models(dead, wrap(TEACHER_KEY), ["z-image-turbo"]) is None
    err = capsys.readouterr().err
    assert err.startswith("warning: --models not checked: the model list of http://127.0.0.1:")
    assert "(ConnectError)" in err and err.count("\n") == 1
