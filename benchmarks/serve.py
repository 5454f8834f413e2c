"""The local server (and, with ``--photo WxH``, the photo proxy in front of it) in a process of its
own, for benchmarks whose server work would otherwise share the measured interpreter.

    python -m benchmarks.serve [--photo 3840x2160 [--mbps 125]] [--latency 0.2]

Prints the base URL on the first line, serves until its standard input closes (the parent's
``served()`` closes it), then stops. Real service is another machine: its rendering, encoding
and sending never compete with the client for the GIL, and here they no longer do either.
"""

from __future__ import annotations

import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("--photo", metavar="WxH", help="photographic PNGs at this size")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--mbps", type=float, default=0.0, help="photo answers sent at MB/s")
    args = parser.parse_args()

    from venice_nb.server import LocalServer

    from .photo_server import PhotoProxy

    with LocalServer(latency=args.latency) as server:
        if args.photo:
            w, h = (int(v) for v in args.photo.split("x"))
            bandwidth = args.mbps * 1e6
            with PhotoProxy(server.base_url, size=(w, h), bandwidth=bandwidth) as proxy:
                _serve(proxy.base_url)
        else:
            _serve(server.base_url)


def _serve(url: str) -> None:
    print(url, flush=True)
    sys.stdin.read()  # returns when the parent closes the pipe (or exits)


if __name__ == "__main__":
    main()
