#!/usr/bin/env bash
# What the local stack and the tests need beyond the Python virtualenv, installed on first use:
# Debian's clamav-daemon (antivirus), chromium (browser tests), poppler-utils (PDF checks),
# and the Node tools of deploy/local/package.json (s3rver, DSFR, axe-core).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

missing=()
command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || missing+=(clamav-daemon clamav)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package.json" -nt "$here/node_modules/.package-lock.json" ]; then
  echo "installing Node tools (s3rver, DSFR, axe-core)"
  # --ignore-scripts: the DSFR's preinstall script wants an interactive project set-up we do not need.
  (cd "$here" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null 2>&1 || npm install --no-audit --no-fund --ignore-scripts >/dev/null)
fi
