"""``python -m venice_nb.classroom``: ``serve`` the gateway; ``add``, ``list``, ``report``,
``revoke`` and ``budget`` on the ledger file (never over the network).

The teacher's key comes from ``VENICE_API_KEY`` only, never from an argument (arguments show in
``ps`` and shell history). A student's token is printed once, alone on the last line of ``add``.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..apikey import KEY_ENV, Secret, checked, wrap
from ..errors import ConfigurationError
from ..urls import check_base_url, redact_url
from .ledger import LedgerError, SqliteLedger, Student, default_ledger_path, to_usd, usd
from .policy import DEFAULT_MAX_BODY, RESOLUTIONS, Policy

DEFAULT_UPSTREAM = "https://api.venice.ai/api/v1"


def _money(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be dollars, e.g. 2.50, got {text!r}") from None
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1000000 dollars, got {text}")
    return value


def _whole(low: int, high: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return convert


def _models(text: str) -> tuple[str, ...]:
    ids = tuple(m.strip() for m in text.split(",") if m.strip())
    if not ids:
        raise argparse.ArgumentTypeError("give model ids separated by commas, e.g. z-image-turbo")
    return ids


def _resolution(text: str) -> str:
    if text.strip().upper() not in RESOLUTIONS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(RESOLUTIONS)}, got {text!r}")
    return text.strip().upper()


def parser() -> argparse.ArgumentParser:
    ledger = argparse.ArgumentParser(add_help=False)
    ledger.add_argument(
        "--ledger",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"the ledger file (default {default_ledger_path()})",
    )
    ap = argparse.ArgumentParser(
        prog="python -m venice_nb.classroom",
        description="A classroom gateway: students use the teacher's Venice key through personal "
        "tokens with budgets, under the teacher's policy. The key comes from $VENICE_API_KEY.",
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", parents=[ledger], help="run the gateway")
    serve.add_argument("--upstream", default=DEFAULT_UPSTREAM, metavar="URL", help="API base URL")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=_whole(0, 65535), default=8800, help="0 = any free port")
    serve.add_argument("--models", type=_models, default=(), metavar="ID,ID", help="allowed models")
    serve.add_argument("--max-variants", type=_whole(1, 4), default=4, metavar="N")
    serve.add_argument("--max-resolution", type=_resolution, default="2K", metavar="1K|2K|4K")
    serve.add_argument("--no-toolbox", action="store_true", help="refuse edit/upscale/cut-out")
    serve.add_argument("--allow-unsafe", action="store_true", help="do not force safe_mode on")
    serve.add_argument("--class-budget", type=_money, default=None, metavar="USD")
    serve.add_argument("--per-minute", type=_whole(1, 10_000), default=None, metavar="N")
    serve.add_argument("--queue", type=_whole(1, 1000), default=8, metavar="N",
                       help="requests a student may have waiting (default 8)")  # fmt: skip
    serve.add_argument("--max-in-flight", type=_whole(1, 1000), default=16, metavar="N")
    serve.add_argument("--max-body-mb", type=_whole(1, 35), default=DEFAULT_MAX_BODY >> 20)
    serve.add_argument("--log-prompts", action="store_true", help="write prompts to the log")
    add = sub.add_parser("add", parents=[ledger], help="add a student; prints the token once")
    add.add_argument("name")
    add.add_argument("--budget", type=_money, required=True, metavar="USD")
    sub.add_parser("list", parents=[ledger], help="the students and what they have left")
    report = sub.add_parser("report", parents=[ledger], help="spend, images, refusals")
    report.add_argument("--csv", action="store_true", help="CSV instead of a table")
    revoke = sub.add_parser("revoke", parents=[ledger], help="a token stops working")
    revoke.add_argument("name")
    budget = sub.add_parser("budget", parents=[ledger], help="set a student's budget")
    budget.add_argument("name")
    budget.add_argument("usd", type=_money, metavar="USD")
    return ap


COLUMNS = (
    "student",
    "budget",
    "spent",
    "reserved",
    "left",
    "images",
    "requests",
    "refusals",
    "status",
)


def _row(s: Student) -> list[str]:
    return [
        s.name,
        usd(s.budget),
        usd(s.spent),
        usd(s.reserved),
        usd(max(0, s.remaining)),
        str(s.images),
        str(s.requests),
        str(s.refusals),
        "revoked" if s.revoked else "active",
    ]


def table(students: list[Student], columns: tuple[str, ...] = COLUMNS) -> str:
    """The students as an aligned table (``columns`` of ``COLUMNS``), then the class's totals."""
    keep = [COLUMNS.index(c) for c in columns]
    rows = [list(columns), *([_row(s)[i] for i in keep] for s in students)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    total = sum(s.spent for s in students)
    images = sum(s.images for s in students)
    lines.append(f"{len(students)} students, {usd(total)} spent, {images} images")
    return "\n".join(lines)


def report_csv(students: list[Student]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "budget_usd", "spent_usd", "reserved_usd", "left_usd", "images",
                     "requests", "refusals", "status"])  # fmt: skip
    for s in students:
        status = "revoked" if s.revoked else "active"
        money = [to_usd(v) for v in (s.budget, s.spent, s.reserved, max(0, s.remaining))]
        writer.writerow([s.name, *money, s.images, s.requests, s.refusals, status])
    return buffer.getvalue()


def check_models(upstream: str, key: Secret, ids: Sequence[str]) -> str | None:
    """``--models`` against the upstream's catalogue, read once at start: the error line naming
    the ids it lacks (with a did-you-mean) or that are not generation models, else None. An
    upstream that cannot be read only warns: the gateway may start before the network."""
    import httpx

    from ..catalogue import Catalogue
    from ..fuzzy import did_you_mean

    catalogues: dict[str, Catalogue] = {}
    try:
        with httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0)) as http:
            for kind in ("image", "inpaint", "upscale"):
                reply = http.get(
                    f"{redact_url(upstream)}/models",
                    params={"type": kind},
                    headers={"Authorization": "Bearer " + key.get()},
                )
                if reply.status_code != 200:
                    raise ValueError(f"it answered {reply.status_code}")
                catalogues[kind] = Catalogue.from_json(reply.json())
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = type(exc).__name__ if isinstance(exc, httpx.HTTPError) else str(exc) or "no list"
        print(f"warning: --models not checked: the model list of {redact_url(upstream)} could "
              f"not be read ({why}); a model it lacks is refused when a student asks for it",
              file=sys.stderr, flush=True)  # fmt: skip
        return None
    generation = catalogues["image"].generation_models()
    problems = []
    for model in ids:
        if model in generation:
            continue
        found = next((k for k, c in catalogues.items() if model in c), None)
        if found is not None:
            what = {"inpaint": "an edit", "upscale": "an upscale"}.get(found, "not a generation")
            problems.append(f"{model!r} is {what} model (--no-toolbox governs the toolbox)")
        else:
            hint = did_you_mean(model, generation)
            problems.append(f"{model!r} is not offered" + (f" ({hint})" if hint else ""))
    if not problems:
        return None
    return (
        f"error: --models takes generation models of {redact_url(upstream)}: "
        + "; ".join(problems)
        + " (GET /models?type=image lists them)"
    )


def _serve(args: argparse.Namespace, ledger: SqliteLedger) -> int:
    try:
        import uvicorn

        from .app import GatewayConfig, create_app
    except ImportError as exc:
        print(
            f"error: serve needs the classroom extra ({exc.name} is missing): "
            "pip install 'venice_nb[classroom]'",
            file=sys.stderr,
        )
        return 2
    key = wrap(os.environ.get(KEY_ENV))
    if key is None:
        print(f"error: set {KEY_ENV} to the teacher's Venice key before `serve` (it is read "
              "from the environment only, never from an argument)", file=sys.stderr)  # fmt: skip
        return 2
    try:
        checked(key, f"${KEY_ENV}")
        upstream = check_base_url(args.upstream, "--upstream")
    except ConfigurationError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    policy = Policy(
        models=args.models,
        max_variants=args.max_variants,
        max_resolution=args.max_resolution,
        toolbox=not args.no_toolbox,
        allow_unsafe=args.allow_unsafe,
        class_budget_usd=args.class_budget,
        per_minute=args.per_minute,
        log_prompts=args.log_prompts,
        max_body_bytes=args.max_body_mb << 20,
        queue_per_student=args.queue,
    )
    # One gateway per ledger: a second one would release the first one's holds (its students'
    # requests in flight would then be free). Claimed first, so a refused serve touches nothing.
    ledger.claim()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # a small answer waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
        sock.listen(1024)  # connections wait in the backlog until uvicorn accepts them
    except OSError as err:
        print(f"error: cannot listen on {args.host}:{args.port}: {err.strerror or err}",
              file=sys.stderr)  # fmt: skip
        sock.close()
        return 2
    unknown = check_models(upstream, key, args.models) if args.models else None
    if unknown:
        print(unknown, file=sys.stderr)
        sock.close()
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is ours
    print(ledger.recover(), flush=True)  # only now: this gateway holds the ledger and its port
    config = GatewayConfig(upstream, key, policy, max_in_flight=args.max_in_flight)
    app = create_app(config, ledger)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"policy: {policy.describe()}", flush=True)
    print(f"classroom gateway on http://{host}:{sock.getsockname()[1]}/api/v1 "
          f"-> {redact_url(upstream)}", flush=True)  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    path = args.ledger or default_ledger_path()
    try:
        ledger = SqliteLedger(path)
    except Exception as exc:  # sqlite3.Error, OSError: say which file and why
        print(f"error: cannot open the ledger {path}: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "serve":
            return _serve(args, ledger)
        if args.command == "add":
            token = ledger.add(args.name, args.budget)
            print(f"added {args.name} with a budget of ${args.budget:.2f}.")
            print("Give the student this token (shown once; the ledger keeps only its hash):")
            print(token)
        elif args.command == "list":
            print(table(ledger.students(), ("student", "budget", "left", "status")))
        elif args.command == "report":
            students = ledger.students()
            print(report_csv(students) if args.csv else table(students), end="\n" * (not args.csv))
        elif args.command == "revoke":
            ledger.revoke(args.name)
            print(f"revoked {args.name}: the token no longer works")
        elif args.command == "budget":
            ledger.set_budget(args.name, args.usd)
            print(f"{args.name}'s budget is now ${args.usd:.2f}", end="")
            now = ledger.student(args.name)
            if now is not None and now.remaining <= 0 < now.spent + now.reserved:
                used = f"{usd(now.spent)} spent" + (
                    f" and {usd(now.reserved)} held for requests under way" if now.reserved else ""
                )
                print(f"; {args.name} has {used} already, so can spend nothing more until the "
                      "budget is raised above that", end="")  # fmt: skip
            print()
        return 0
    except LedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        ledger.close()
