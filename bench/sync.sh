#!/usr/bin/env bash
# bench/sync.sh — replication between two Marble instances next to two Syncthing instances,
# the same workloads in the same run, with ../shared/tools/sync/sync-bench.sh: Syncthing at its
# most eager setting (ST_DELAY_S=1), then two `marble serve` with B dialling A's peer endpoint
# through count-proxy.js (bytes on the wire between the peers), driven over WebDAV.
#
# Prints one figure a line:
#   sync marble big_256MiB_s 1.234 s
#   sync syncthing big_256MiB_s 2.060 s
#   sync ratio big_256MiB_s 1.67         syncthing/marble: above 1 means Marble is better
#   sync marble big_256MiB_arrival_s 1.5 s  PUT on A until B holds all of it (see big_arrival)
# small_latency_ms is compared with Syncthing's small_latency_eager_ms (fsWatcherDelayS=1);
# absolute targets (latency < 100 ms, each peer's peak RSS < 100 MB) are flagged when missed.
# Env: passed through to sync-bench.sh (BIG_MB, NSMALL, NDIRS, LAT_RUNS, TIMEOUT_S, SETTLE_S);
#   MARBLE_NODE_ARGS  extra node options for both marble processes, e.g.
#                     "--cpu-prof --cpu-prof-dir=/tmp/prof" (profiles written on exit)
#   SYNC_BENCH_ONLY   "marble" or "syncthing" to run one side only (no ratios)
#   SYNC_BENCH_LOGS   a directory to keep the logs in (sync-bench notes, marble stderr)
# Needs a build (dist/); sync-bench.sh installs syncthing/jq/curl if missing (root).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=$(cd "$ROOT/../shared/tools/sync" 2>/dev/null && pwd) ||
  { echo "bench: ../shared/tools/sync not found beside the repository" >&2; exit 1; }
[ -f "$ROOT/dist/src/cli/main.js" ] || { echo "bench: no build; run npm run build (npm run bench does)" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/marble-sync-bench.XXXXXX")
PIDS=()   # marble A, marble B, proxy: stopped in reverse order
cleanup() {
  set +e   # best effort: whatever is still up goes down, and the figures' exit status stands
  local i p
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    p=${PIDS[i]}
    kill "$p" 2>/dev/null || continue
    for _ in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  [ -z "${SYNC_BENCH_LOGS:-}" ] || { mkdir -p "$SYNC_BENCH_LOGS" && cp "$W"/*.log "$W"/*.out "$W"/*.err "$SYNC_BENCH_LOGS"/ 2>/dev/null; }
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
figures() {   # sync-bench output -> "NAME VALUE UNIT"
  sed -n 's/^sync-bench: [^ ]* \([A-Za-z_0-9]*\) \([^ ]*\) \(.*\)$/\1 \2 \3/p' "$1"
}

ONLY=${SYNC_BENCH_ONLY:-}
STATUS=0

# ---- Syncthing, fsWatcherDelayS=1 ---------------------------------------------------------
if [ "$ONLY" != marble ]; then
  ST_DELAY_S=1 LABEL=syncthing bash "$TOOLS/sync-bench.sh" syncthing > "$W/syncthing.out" 2> "$W/syncthing.log" ||
    { STATUS=1; echo "bench: sync-bench.sh syncthing failed:" >&2; tail -20 "$W/syncthing.log" >&2; }
  figures "$W/syncthing.out" > "$W/syncthing.tsv"
fi

# ---- Marble: A <- proxy <- B --------------------------------------------------------------
start_marble() {   # NAME ARGS... ; sets PID_<NAME>, URL_<NAME>
  local name=$1; shift
  # shellcheck disable=SC2086 # MARBLE_NODE_ARGS is a list of node options
  node ${MARBLE_NODE_ARGS:-} "$ROOT/bin/marble.js" serve --data "$W/$name" --name "$name" \
    --webdav 127.0.0.1:0 --nfs 127.0.0.1:0 "$@" > "$W/$name.out" 2> "$W/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do grep -qx ready "$W/$name.out" 2>/dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  grep -qx ready "$W/$name.out" 2>/dev/null ||
    { echo "bench: marble serve $name did not get ready:" >&2; cat "$W/$name.out" >&2; tail -20 "$W/$name.err" >&2; exit 1; }
  printf -v "PID_$name" %s "$pid"
  printf -v "URL_$name" %s "$(sed -n 's/^webdav: //p' "$W/$name.out" | head -1)"
}
peers_of() { curl -sf "$1/api/status" | jq '.peers | length' 2>/dev/null || echo 0; }

# big_arrival: prints "big_256MiB_arrival_s SECONDS s": from the start of a PUT of a new
# BIG_MB file on A until B lists it with nothing left to fetch (/api/status polled every 20 ms).
# sync-bench.sh's big_256MiB_s cannot tell arrival apart: B lists a file as soon as its change
# arrives and a GET there waits for the content, so its poll times when B first answered.
big_arrival() {
  local mb=${BIG_MB:-256} t0 t1 status
  head -c $((mb << 20)) /dev/urandom > "$W/arrival.bin"
  sync
  t0=$EPOCHREALTIME
  curl -sf -T "$W/arrival.bin" "${URL_a%/}/arrival.bin" -o /dev/null || { echo "big_${mb}MiB_arrival_s FAIL s"; return; }
  for _ in $(seq 1 3000); do
    if curl -sfI "${URL_b%/}/arrival.bin" > /dev/null; then
      status=$(curl -sf "http://127.0.0.1:$HTTP_b/api/status") &&
        [ "$(jq '.missing + .queuedDownloads' <<< "$status")" = 0 ] && { t1=$EPOCHREALTIME; break; }
    fi
    sleep 0.02
  done
  rm -f "$W/arrival.bin"
  [ -n "${t1:-}" ] || { echo "big_${mb}MiB_arrival_s FAIL s"; return; }
  awk -v a="$t0" -v b="$t1" -v n="big_${mb}MiB_arrival_s" 'BEGIN { printf "%s %.3f s\n", n, b - a }'
}

if [ "$ONLY" != syncthing ]; then
  for n in a b; do
    node "$ROOT/bin/marble.js" init --data "$W/$n" --name "$n" > "$W/$n.id"
  done
  FP_a=$(sed -n 's/^fingerprint: //p' "$W/a.id"); FP_b=$(sed -n 's/^fingerprint: //p' "$W/b.id")
  HTTP_a=$(free_port); HTTP_b=$(free_port); PROXY_PORT=$(free_port)
  start_marble a --http "127.0.0.1:$HTTP_a" --trust "$FP_b"
  node "$TOOLS/count-proxy.js" "$PROXY_PORT" "127.0.0.1:$HTTP_a" "$W/proxy.json" > "$W/proxy.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 100); do [ -s "$W/proxy.json" ] && break; sleep 0.1; done
  [ -s "$W/proxy.json" ] || { echo "bench: count-proxy did not start:" >&2; cat "$W/proxy.log" >&2; exit 1; }
  start_marble b --http "127.0.0.1:$HTTP_b" --trust "$FP_a" --peer "ws://127.0.0.1:$PROXY_PORT/peer"
  for _ in $(seq 1 200); do
    [ "$(peers_of "http://127.0.0.1:$HTTP_a")" = 1 ] && [ "$(peers_of "http://127.0.0.1:$HTTP_b")" = 1 ] && break
    sleep 0.1
  done
  [ "$(peers_of "http://127.0.0.1:$HTTP_b")" = 1 ] ||
    { echo "bench: b did not connect to a:" >&2; tail -20 "$W/a.err" "$W/b.err" >&2; exit 1; }

  # shellcheck disable=SC2154 # PID_a, URL_a, ... are set by start_marble
  RSS_PIDS="a=$PID_a b=$PID_b" LABEL=marble bash "$TOOLS/sync-bench.sh" webdav "$URL_a" "$URL_b" "$W/proxy.json" \
    > "$W/marble.out" 2> "$W/marble.log" ||
    { STATUS=1; echo "bench: sync-bench.sh webdav against marble failed:" >&2; tail -20 "$W/marble.log" >&2; }
  figures "$W/marble.out" > "$W/marble.tsv"
  big_arrival >> "$W/marble.tsv"
fi

# ---- one figure a line, then a ratio per figure -------------------------------------------
if [ -z "$ONLY" ]; then
  while read -r n v u; do
    echo "sync marble $n $v $u"
    case $n in
      small_latency_ms) ref=small_latency_eager_ms ;;   # Syncthing at its most eager
      big_*MiB_arrival_s) ref=${n%_arrival_s}_s ;;       # Syncthing lists a file once it is whole
      *) ref=$n ;;
    esac
    s=$(awk -v n="$ref" '$1 == n {print $2 " " $3}' "$W/syncthing.tsv")
    [ -n "$s" ] || continue
    same=$(awk -v n="$n" '$1 == n {print $2 " " $3}' "$W/syncthing.tsv")
    [ "$ref" = "$n" ] || [ -z "$same" ] || echo "sync syncthing $n $same"
    echo "sync syncthing $ref $s"
    awk -v n="$n" -v m="$v" -v s="${s%% *}" 'BEGIN {
      if (m == "FAIL" || s == "FAIL") { printf "sync ratio %s FAIL\n", n; exit }
      r = m > 0 ? s / m : 0; f = sprintf("%.2f", r)
      printf "sync ratio %s %s%s\n", n, f, (r <= 1 ? " (not better than syncthing)" : "") }'
  done < "$W/marble.tsv"
  # Syncthing-only figures (scan times, block size): reported for reference
  while read -r n v u; do
    grep -q "^$n " "$W/marble.tsv" || [ "$n" = small_latency_eager_ms ] || echo "sync syncthing $n $v $u"
  done < "$W/syncthing.tsv"
else
  while read -r n v u; do echo "sync $ONLY $n $v $u"; done < "$W/$ONLY.tsv"
fi
if [ "$ONLY" != syncthing ]; then
  awk '$1 == "small_latency_ms" && ($2 == "FAIL" || $2 + 0 >= 100) { print "sync target small_latency_ms " $2 " ms: misses < 100 ms" }
       $1 ~ /^rss_peak_/ && ($2 == "FAIL" || $2 + 0 >= 100) { print "sync target " $1 " " $2 " MB: misses < 100 MB" }' "$W/marble.tsv"
fi
exit "$STATUS"
