#!/usr/bin/env bash
# Debian's Chromium for the browser tests (never `playwright install`: no browser downloads here).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "note: Chromium is not installed; browser tests will be skipped (apt-get install chromium as root)." >&2
fi
