#!/usr/bin/env bash
# Installs the npm packages (from package-lock.json) when node_modules is missing or older
# than the lock file, so `npm start` and `npm test` work on a fresh clone.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
   [ ! -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ] || [ ! -f native/build/Release/marble_native.node ]; then
  echo "marble: installing npm packages (npm ci)..." >&2
  npm ci --no-audit --no-fund >&2
fi
