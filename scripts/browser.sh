#!/usr/bin/env bash
# Make sure the browser test has its browser: Debian's Chromium at /usr/bin/chromium (driven by
# Playwright for Python from the test extras; Playwright's own browser downloads are not used).
# Idempotent: does nothing when Chromium is there. Installs nothing else system-wide.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Chromium for the browser test ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq chromium >/dev/null; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium >/dev/null
  fi
fi

if [ ! -x "$CHROMIUM" ]; then
  # Not fatal here: tests/e2e/test_browser.py fails with the same advice, other tests still run.
  echo "Chromium is not at $CHROMIUM and could not be installed here (needs root and apt-get);" \
       "the browser test will fail until it is: sudo apt-get install -y chromium" >&2
fi
