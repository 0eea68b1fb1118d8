#!/usr/bin/env bash
# bench/nfs.sh — NFSv3 throughput of Marble next to NFS-Ganesha (VFS), measured in the same run
# with ../shared/tools/nfs/nfs-throughput.sh (libnfs-utils), each server on the same disk.
#
# Prints one figure a line:
#   nfs marble upload 264.35 MB/s
#   nfs ganesha upload 805.45 MB/s
#   nfs ratio upload 0.33            marble/ganesha; for list_500 (a time) ganesha/marble,
#                                    so above 1 is always "Marble is better"
# Env: PASSES (default 2: ganesha then marble, then marble then ganesha; each figure is the
# mean over the passes); the rest is passed to nfs-throughput.sh (SIZE_MB default 256, RUNS,
# NSMALL, SMALL_KB, LIST_RUNS).
# Needs a build (dist/), libnfs-utils, and nfs-ganesha nfs-ganesha-vfs gcc for the anchor.
#
# Reading the upload figure: on a VM that hands freed memory back to its host (free page
# reporting), writing into page-cache pages the guest has not touched lately costs ~2.4 ms
# per MiB against ~0.17 ms for recently freed ones. nfs-throughput.sh removes each uploaded
# file before the next upload: Ganesha frees its pages; Marble keeps the content in history
# and drops its pages from the cache (BlobStore.dropCached), so both write into freed pages.
# Measured on the same VM without those removals, Ganesha's later uploads ran 320-340 MB/s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=$(cd "$ROOT/../shared/tools/nfs" 2>/dev/null && pwd) ||
  { echo "bench: ../shared/tools/nfs not found beside the repository" >&2; exit 1; }
[ -f "$ROOT/dist/src/cli/main.js" ] || { echo "bench: no build; run npm run build (npm run bench does)" >&2; exit 1; }
command -v ganesha.nfsd >/dev/null || { echo "bench: nfs: NFS-Ganesha missing (apt-get install -y nfs-ganesha nfs-ganesha-vfs gcc)" >&2; exit 1; }
export SIZE_MB=${SIZE_MB:-256}
# libnfs 4.0 cannot mount "" (a file right under the export "/") after MOUNT EXPORT; the same
# option for both servers keeps the comparison fair.
export NFS_URL_EXTRA="${NFS_URL_EXTRA:-}&auto-traverse-mounts=0"

W=$(mktemp -d "${TMPDIR:-/tmp}/marble-nfsbench.XXXXXX")
export GANESHA_ANCHOR_DIR="$W/ganesha-state"
MPID=
cleanup() {
  # No set -e here: a kill of a server already gone must not skip stopping the other.
  set +e
  if [ -n "$MPID" ] && kill "$MPID" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$MPID" 2>/dev/null
  fi
  "$TOOLS/ganesha-anchor.sh" stop >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

mkdir -p "$W/ganesha"; chmod 755 "$W" "$W/ganesha"
GP=$(free_port); GM=$(free_port)
"$TOOLS/ganesha-anchor.sh" start "$W/ganesha" "$GP" "$GM" > "$W/ganesha-start.log" 2>&1 ||
  { echo "bench: ganesha-anchor.sh failed:" >&2; cat "$W/ganesha-start.log" >&2; exit 1; }

NP=$(free_port)
mkdir -p "$W/marble"
node "$ROOT/bin/marble.js" serve --data "$W/marble/data" --name bench \
  --webdav 127.0.0.1:0 --http 127.0.0.1:0 --nfs "127.0.0.1:$NP" > "$W/marble/out" 2> "$W/marble/err" &
MPID=$!
for _ in $(seq 1 300); do grep -qx ready "$W/marble/out" 2>/dev/null && break; kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
grep -qx ready "$W/marble/out" 2>/dev/null ||
  { echo "bench: marble serve did not get ready:" >&2; cat "$W/marble/out" >&2; tail -20 "$W/marble/err" >&2; exit 1; }

# nfs-throughput lines -> "name value unit"
measure() {   # NAME PORT MOUNTPORT EXPORT
  local out="$W/$1.out"
  LOCAL_REF=0 bash "$TOOLS/nfs-throughput.sh" 127.0.0.1 "$2" "$3" "$4" > "$out" 2> "$W/$1.log" ||
    { echo "bench: nfs-throughput.sh against $1 failed:" >&2; tail -20 "$out" "$W/$1.log" >&2; return 1; }
  awk '
    /^nfs-throughput: upload .* median/            { print "upload", $(NF-1), $NF }
    /^nfs-throughput: download .* median/          { for (i = 1; i <= NF; i++) if ($i == "median") print "download", $(i+1), $(i+2) }
    /^nfs-throughput: read .* median/              { for (i = 1; i <= NF; i++) if ($i == "median") print "read_cat", $(i+1), $(i+2) }
    /^nfs-throughput: create .*process per file/   { for (i = 1; i <= NF; i++) if ($i == "files/s") print "small_create", $(i-1), "files/s" }
    /^nfs-throughput: nfs-ls of 500-entry dir/     { for (i = 1; i <= NF; i++) if ($i == "median") print "list_500", $(i+1), "s" }
    /^nfs-throughput: create\+write\+close/        { print "session_create", $(NF-1), $NF }
    /^nfs-throughput: remove .* one libnfs session/ { print "session_remove", $(NF-1), $NF }
  ' "$out"
}
# Each pass measures both servers; the order flips every pass and dirty pages are flushed
# before each measurement, so neither server runs while the disk writes back the other's files.
PASSES=${PASSES:-2}
: > "$W/ganesha.all"; : > "$W/marble.all"
for pass in $(seq 1 "$PASSES"); do
  if [ $((pass % 2)) = 1 ]; then order="ganesha marble"; else order="marble ganesha"; fi
  for s in $order; do
    sync
    if [ "$s" = ganesha ]; then measure ganesha "$GP" "$GM" "$W/ganesha" >> "$W/ganesha.all"
    else measure marble "$NP" "$NP" / >> "$W/marble.all"; fi
  done
done
# one line per figure: the mean over the passes
for s in ganesha marble; do
  awk '{ n[$1]++; v[$1] += $2; u[$1] = $3; if (!($1 in o)) { o[$1] = ++k; name[k] = $1 } }
       END { for (i = 1; i <= k; i++) { f = name[i]; printf "%s %.4g %s\n", f, v[f] / n[f], u[f] } }' "$W/$s.all" > "$W/$s.tsv"
done

while read -r n v u; do
  echo "nfs marble $n $v $u"
  g=$(awk -v n="$n" '$1 == n {print $2 " " $3}' "$W/ganesha.tsv")
  [ -n "$g" ] || continue
  echo "nfs ganesha $n $g"
  awk -v n="$n" -v m="$v" -v g="${g%% *}" 'BEGIN {
    r = (n == "list_500") ? (m > 0 ? g / m : 0) : (g > 0 ? m / g : 0)
    s = sprintf("%.2f", r)
    printf "nfs ratio %s %s%s\n", n, s, (s + 0 < 1 ? " (below the 1.00 target)" : "") }'
done < "$W/marble.tsv"
