#!/usr/bin/env bash
# bench/webdav-cpu.sh — server CPU per small WebDAV request, Marble next to Apache mod_dav.
# On a shared machine wall-clock rates swing with everybody's load; the CPU a server spends on
# a request (user + system, its whole process tree, from /proc) holds still, and it is what
# a server can change. Same traffic as dav-throughput.sh's small-file part: NSMALL files of
# SMALL_KB KiB, PUT then GET (to /dev/null), one curl process, keep-alive, sequential.
#
# Prints one figure a line (median over BENCH_ROUNDS alternating rounds):
#   webdav-cpu marble put_small 590 us/req (user 430, sys 160) 812.3 files/s
#   webdav-cpu apache put_small 310 us/req (user 40, sys 270) 1250.0 files/s
#   webdav-cpu ratio put_small 0.53      apache CPU / marble CPU: above 1, Marble spends less
# Env: BENCH_ROUNDS (3), NSMALL (500), SMALL_KB (4); PROFILE=DIR also runs marble under
# --cpu-prof into DIR and prints its 25 top functions by self time (bench/lib/cpuprofile-top.mjs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=$(cd "$ROOT/../shared/tools/webdav" 2>/dev/null && pwd) ||
  { echo "bench: ../shared/tools/webdav not found beside the repository" >&2; exit 1; }
[ -f "$ROOT/dist/src/cli/main.js" ] || { echo "bench: no build; run npm run build" >&2; exit 1; }
ROUNDS=${BENCH_ROUNDS:-3}; NSMALL=${NSMALL:-500}; SMALL_KB=${SMALL_KB:-4}
TCK=$(getconf CLK_TCK)

. "$ROOT/bench/lib/webdav-servers.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/marble-cpubench.XXXXXX")
cleanup() {
  set +e
  webdav_servers_stop "$W" "$TOOLS"
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
NODE_ARGS=()
[ -n "${PROFILE:-}" ] && { mkdir -p "$PROFILE"; NODE_ARGS=(--cpu-prof "--cpu-prof-dir=$PROFILE"); }
webdav_servers_start "$W" "$ROOT" "$TOOLS" "${NODE_ARGS[@]}"

# "user system" clock ticks of PID and its children (apache's workers)
ticks() {
  local p
  for p in "$1" $(pgrep -P "$1" || true); do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{ sub(/^.*\) /, ""); u += $12; s += $13 } END { print u + 0, s + 0 }'
}

mkdir -p "$W/files"
for i in $(seq -w 1 "$NSMALL"); do head -c $((SMALL_KB * 1024)) /dev/urandom > "$W/files/f$i"; done

# one round against one server: NAME URL PID ROUND; appends "figure us user sys rate" lines
measure() {
  local col="${2%/}/cpu-bench-$4/" op t0 t1 c0 c1 n
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X MKCOL "$col")" = 201 ] || { echo "bench: MKCOL $col failed" >&2; return 1; }
  for i in $(seq -w 1 "$NSMALL"); do
    printf 'upload-file = "%s"\nurl = "%sf%s"\noutput = "/dev/null"\n' "$W/files/f$i" "$col" "$i"
  done > "$W/put.cfg"
  sed -e '/^upload-file/d' "$W/put.cfg" > "$W/get.cfg"
  for op in put get; do
    c0=$(ticks "$3"); t0=$EPOCHREALTIME
    curl -sS -K "$W/$op.cfg" -w '%{http_code}\n' > "$W/codes"
    t1=$EPOCHREALTIME; c1=$(ticks "$3")
    n=$(grep -c '^2' "$W/codes" || true)
    [ "$n" = "$NSMALL" ] || { echo "bench: $1 ${op}: $n of $NSMALL answered 2xx" >&2; return 1; }
    awk -v c0="$c0" -v c1="$c1" -v n="$NSMALL" -v k="$TCK" -v t0="$t0" -v t1="$t1" -v f="${op}_small" 'BEGIN {
      split(c0, a, " "); split(c1, b, " ")
      u = (b[1] - a[1]) / k / n * 1e6; s = (b[2] - a[2]) / k / n * 1e6
      printf "%s %.0f %.0f %.0f %.1f\n", f, u + s, u, s, n / (t1 - t0) }' >> "$W/$1.all"
  done
  curl -s -o /dev/null -X DELETE "$col"
}
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then measure apache "$AURL" "$APID" "$r"; measure marble "$MURL" "$MPID" "$r"
  else measure marble "$MURL" "$MPID" "$r"; measure apache "$AURL" "$APID" "$r"; fi
done

# per figure and server: the round with the median total CPU
median_of() {   # SERVER FIGURE -> "total user sys rate"
  awk -v f="$2" '$1 == f { print $2, $3, $4, $5 }' "$W/$1.all" | sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'
}
for f in put_small get_small; do
  read -r mt mu ms mr <<< "$(median_of marble $f)"
  read -r at au as ar <<< "$(median_of apache $f)"
  echo "webdav-cpu marble $f $mt us/req (user $mu, sys $ms) $mr files/s"
  echo "webdav-cpu apache $f $at us/req (user $au, sys $as) $ar files/s"
  awk -v f="$f" -v m="$mt" -v a="$at" 'BEGIN { printf "webdav-cpu ratio %s %.2f\n", f, (m > 0 ? a / m : 0) }'
done
if [ -n "${PROFILE:-}" ]; then
  webdav_servers_stop "$W" "$TOOLS"   # marble writes its profile as it exits
  for p in "$PROFILE"/*.cpuprofile; do node "$ROOT/bench/lib/cpuprofile-top.mjs" "$p" 25; done
fi
