#!/usr/bin/env bash
# Install everything the tests need, then run them: a virtual environment with the package and its
# `test` extra, Debian's Chromium for the browser test, ruff, mypy, and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

bash scripts/install-browser.sh
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test]"

"$VENV/bin/ruff" check venice_nb tests benchmarks scripts
"$VENV/bin/ruff" format --check venice_nb tests benchmarks scripts
"$VENV/bin/mypy" venice_nb benchmarks  # settings in pyproject: non-strict, strict for operations/ and settings
exec "$VENV/bin/python" -m pytest "$@"
