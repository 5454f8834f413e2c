"""Refresh the repository's copies of the reference files: ``python scripts/refresh_shared.py [--from DIR] [--check]``.

The tests check the client and the local server against the OpenAPI spec subset and the real
catalogue snapshot. Both live in the repository so a fresh clone runs every test; a newer copy may
appear in the workplace's ``../shared/`` (or any DIR). This copies each one that differs into place;
``--check`` only lists them and exits 1 if any differ. A snapshot with a newer date in its name is
reported, not adopted: the server's ``SNAPSHOT`` name and the tests' counts move with it, by hand.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name in the shared directory -> where the repository keeps it
TARGETS = {
    "venice-openapi-image.yaml": Path("tests/data/venice-openapi-image.yaml"),
    "venice-models-2026-08-20.json": Path("venice_nb/server/data/venice-models-2026-08-20.json"),
}
_DATED_SNAPSHOT = re.compile(r"venice-models-(\d{4}-\d{2}-\d{2})\.json")


def stale(source: Path, root: Path = ROOT) -> list[str]:
    """Names whose copy in ``source`` differs from the repository's (missing sources are skipped)."""
    return [
        name
        for name, target in TARGETS.items()
        if (source / name).is_file()
        and (
            not (root / target).is_file()
            or (source / name).read_bytes() != (root / target).read_bytes()
        )
    ]


def newer_snapshots(source: Path) -> list[str]:
    """Dated catalogue snapshots in ``source`` newer than the one the repository carries."""
    current = max(m.group(1) for n in TARGETS if (m := _DATED_SNAPSHOT.fullmatch(n)))
    return sorted(
        p.name
        for p in source.glob("venice-models-*.json")
        if (m := _DATED_SNAPSHOT.fullmatch(p.name)) and m.group(1) > current
    )


def refresh(source: Path, root: Path = ROOT) -> list[str]:
    """Copy every stale file from ``source`` into the repository; return their names."""
    names = stale(source, root)
    for name in names:
        target = root / TARGETS[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        shutil.copyfile(source / name, partial)
        partial.replace(target)  # never a half-written reference file
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--check", action="store_true", help="list what differs; change nothing")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        print(f"{args.source} is not a directory; pass --from DIR", file=sys.stderr)
        return 2
    names = stale(args.source) if args.check else refresh(args.source)
    verb = "differs" if args.check else "updated"
    for name in names:
        print(f"{TARGETS[name]} {verb} (from {args.source / name})")
    for name in newer_snapshots(args.source):
        print(f"{name} is newer than the repository's snapshot: adopt it by hand")
    if not names:
        print("up to date")
    return 1 if args.check and names else 0


if __name__ == "__main__":
    sys.exit(main())
