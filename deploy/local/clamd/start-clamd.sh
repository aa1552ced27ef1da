#!/usr/bin/env bash
# Start a clamd in the foreground on 127.0.0.1:<port> with a private state folder.
#
#   deploy/local/clamd/start-clamd.sh <port> <state-dir>
#
# <state-dir> (created if missing; use a folder under var/, e.g. var/clamd) receives
# clamd.conf, db/ (the project's signature files) and tmp/. The process is exec'd, so the
# caller's pid is clamd's and stopping it is a plain SIGTERM to that pid.
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 <port> <state-dir>" >&2
  exit 2
fi
port="$1"
state="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
clamd_bin="${CLAMD_BIN:-/usr/sbin/clamd}"
mkdir -p "$state/db" "$state/tmp"
state="$(cd "$state" && pwd)"
cp "$here"/*.ndb "$state/db/"
sed -e "s|@PORT@|$port|" -e "s|@DATABASE_DIR@|$state/db|" -e "s|@TEMP_DIR@|$state/tmp|" \
  "$here/clamd.conf.template" > "$state/clamd.conf"
exec "$clamd_bin" --config-file="$state/clamd.conf"
