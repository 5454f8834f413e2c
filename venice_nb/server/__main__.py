"""``python -m venice_nb.server``: run the local preview backend in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from . import LocalServer


def _port(text: str) -> int:
    """A TCP port, 0 to 65535 (0 = any free one); argparse turns a refusal into one line."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535 (0 = any free), got {port}")
    return port


def _at_least(low: float, kind: type = float) -> Callable[[str], Any]:
    """An argparse ``type=``: a number of ``kind`` that is ``low`` or more."""
    what = "a whole number" if kind is int else "a number"

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not value >= low or value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"must be {what} of at least {low:g}, got {text}")
        return value

    return convert


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m venice_nb.server",
        description="Venice-compatible local preview image API (procedural images, no key needed).",
    )
    ap.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=_port, default=8787, help="port (default 8787; 0 = any free)")
    ap.add_argument("--no-auth", action="store_true", help="accept requests without a bearer key")
    ap.add_argument(
        "--latency",
        type=_at_least(0.0),
        default=0.0,
        metavar="S",
        help="seconds each generate request renders for (reported as inference time)",
    )
    ap.add_argument(
        "--balance",
        type=_at_least(0.0),
        default=100.0,
        metavar="USD",
        help="starting USD balance (default 100)",
    )
    ap.add_argument(
        "--balance-diem",
        type=_at_least(0.0),
        default=0.0,
        metavar="DIEM",
        help="starting DIEM balance; above 0 the account is billed in DIEM (default 0)",
    )
    ap.add_argument(
        "--rate-limit",
        type=_at_least(1, int),
        default=None,
        metavar="RPM",
        help="enforce this many generate requests per minute (per --rate-window)",
    )
    ap.add_argument(
        "--rate-window",
        type=float,
        default=60.0,
        metavar="S",
        help="the rate limit's sliding window in seconds (default 60)",
    )
    ap.add_argument(
        "--timing",
        choices=("cumulative", "additive"),
        default="cumulative",
        help="shape of the timing object: cumulative as the live service (default) or the "
        "docs' additive example",
    )
    ap.add_argument(
        "--pro", action="store_true", help="the key has Pro/beta access (else Pro rows answer 401)"
    )
    ap.add_argument(
        "--edge-models",
        action="store_true",
        help="also serve the local edge-case rows (local-offline-model, local-pro-model)",
    )
    ap.add_argument("--quiet", action="store_true", help="do not log requests")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.rate_window > 0:
        _parser().error("--rate-window must be > 0")
    server = LocalServer(
        args.host,
        args.port,
        auth=not args.no_auth,
        latency=args.latency,
        balance_usd=args.balance,
        rate_limit_rpm=args.rate_limit,
        rate_window_s=args.rate_window,
        timing=args.timing,
        pro=args.pro,
        edge_models=args.edge_models,
        balance_diem=args.balance_diem,
    )
    try:
        server.start()
    except OSError as err:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {err.strerror or err}",
            file=sys.stderr,
        )
        return 2
    server.log_requests = not args.quiet
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    key_hint = "no key needed" if args.no_auth else "any non-empty key is accepted"
    print(f"Venice local preview server listening on {server.base_url}", flush=True)
    print("Point clients at it with:", flush=True)
    print(f"  export VENICE_BASE_URL={server.base_url}", flush=True)
    print(f"  export VENICE_API_KEY=local-preview   # {key_hint}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
