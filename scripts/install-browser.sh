#!/usr/bin/env bash
# Install Debian's Chromium for the browser test (tests/test_browser.py) when it is missing.
# Playwright drives /usr/bin/chromium; `playwright install` is not used (it downloads a browser).
# Idempotent and quiet: does nothing when the browser is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium >/dev/null

if [ ! -x /usr/bin/chromium ]; then
  echo "install-browser.sh: chromium was installed but /usr/bin/chromium is missing" >&2
  exit 1
fi
