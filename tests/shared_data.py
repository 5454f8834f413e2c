"""Where the tests find the reference files they check against, inside the repository.

The spec subset and the catalogue snapshot used to be read from ``../shared/``, which only exists in
the workplace the project grew in; a fresh clone skipped every test that read them. They live in the
repository now: the spec under ``tests/data/``, the catalogue where the package already ships it (the
local server serves it). ``scripts/refresh_shared.py`` copies newer versions in.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "tests" / "data" / "venice-openapi-image.yaml"
CATALOGUE_PATH = ROOT / "venice_nb" / "server" / "data" / "venice-models-2026-08-20.json"
