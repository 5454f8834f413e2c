#!/usr/bin/env bash
# Install venice_nb with JupyterLab, run the quickstart notebook once headless (on the local preview
# backend when VENICE_API_KEY is not set), then open it in JupyterLab. `--no-lab` stops after the run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[lab]" nbclient nbformat

mkdir -p out
"$VENV/bin/python" scripts/run_notebook.py notebooks/quickstart.ipynb out/quickstart.ipynb

if [ "${1:-}" != "--no-lab" ] && [ -z "${CI:-}" ]; then
  exec "$VENV/bin/jupyter" lab notebooks/quickstart.ipynb
fi
