#!/usr/bin/env bash
# Make sure the browser tests have their browser: Debian's Chromium at /usr/bin/chromium (driven
# by Playwright for Python from the test extras; Playwright's own browser downloads are not used),
# and Node.js, which runs embed.js against the real server in tests/widgets/test_embed.py.
# Idempotent: does nothing when both are there. Installs nothing else system-wide.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing ${missing[*]} for the browser tests ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if ! command -v node >/dev/null 2>&1; then
  echo "Node.js is missing and could not be installed here (needs root and apt-get);" \
       "tests/widgets/test_embed.py will fail until it is: sudo apt-get install -y nodejs" >&2
fi

if [ ! -x "$CHROMIUM" ]; then
  # Not fatal here: tests/e2e/test_browser.py fails with the same advice, other tests still run.
  echo "Chromium is not at $CHROMIUM and could not be installed here (needs root and apt-get);" \
       "the browser test will fail until it is: sudo apt-get install -y chromium" >&2
fi
