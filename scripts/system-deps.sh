#!/usr/bin/env bash
# The system libraries statements need, from Debian: Pango (with its FreeType backend) and
# HarfBuzz's subsetter for WeasyPrint, which renders a statement's PDF from its HTML; a font
# with Latin and a font with Chinese glyphs, so names print in either; and pdftotext
# (poppler-utils), which the tests use to read the PDFs back.
# Idempotent: does nothing when everything is there. Run by `make test` (the demo renders no PDF).
set -euo pipefail

libraries=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-wqy-microhei)
missing=()
for package in "${libraries[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing ${missing[*]} for statement PDFs ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  # Not fatal here: the PDF tests fail with the same advice, the other tests still run.
  echo "missing ${missing[*]} and cannot install them here (needs root and apt-get);" \
       "statement PDFs and their tests need them: sudo apt-get install -y ${missing[*]}" >&2
fi
