#!/usr/bin/env bash
# What `make bench` needs beyond Python: wrk (Debian package `wrk`), the HTTP load generator
# bench/clicks.py drives, because a Python load generator takes the CPU the server needs
# (issue 17: it reported p99 35 ms where wrk sees 9 ms). Idempotent: does nothing when wrk is
# there. Without root or apt-get, bench/clicks.py falls back to its Python generator and says so.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing wrk for bench/clicks.py ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends wrk >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends wrk >/dev/null
  fi
else
  echo "wrk is not installed and cannot be installed here (needs root and apt-get);" \
       "bench/clicks.py uses its Python load generator instead: sudo apt-get install -y wrk" >&2
fi
