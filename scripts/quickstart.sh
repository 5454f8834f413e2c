#!/usr/bin/env bash
# Install venice_nb with JupyterLab, run the quickstart notebook once headless (on the local preview
# backend when VENICE_API_KEY is not set), then open it in JupyterLab. `--no-lab` stops after the run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[lab]" nbclient nbformat 2> >(grep -v -e "^ " -e "^$" -e "^!!" >&2)

mkdir -p out
"$VENV/bin/python" scripts/run_notebook.py notebooks/quickstart.ipynb out/quickstart.ipynb

if [ "${1:-}" != "--no-lab" ] && [ -z "${CI:-}" ]; then
  lab_args=(--ServerApp.ip=127.0.0.1)
  # Containers and fresh VMs often log in as root, which JupyterLab refuses without this flag.
  [ "$(id -u)" -eq 0 ] && lab_args+=(--allow-root)
  echo "Opening JupyterLab on the quickstart (Ctrl-C to stop)."
  exec "$VENV/bin/jupyter" lab "${lab_args[@]}" notebooks/quickstart.ipynb
fi
