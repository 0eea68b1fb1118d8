#!/usr/bin/env bash
# bench/run.sh — what `npm run bench` runs after the build: every benchmark, one figure a line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/webdav.sh
bash bench/nfs.sh
bash bench/sync.sh
