#!/usr/bin/env bash
# bench/webdav.sh — WebDAV throughput of Marble next to Apache mod_dav, measured in the same run
# with ../shared/tools/webdav/dav-throughput.sh (curl only), plus the local-disk reference.
#
# Prints one figure a line:
#   webdav marble put_large 812.3 MB/s
#   webdav apache put_large 1040.1 MB/s
#   webdav ratio put_large 0.78          marble/apache; for propfind_depth1 (a time) apache/marble,
#                                        so above 1 is always "Marble is better"
#   webdav local local_write_fsync 1300.2 MB/s   (the disk both servers write to)
# Env: BENCH_ROUNDS (2): alternating rounds per server, figures are medians over them; the rest
# is passed through to dav-throughput.sh (SIZE_MB, RUNS, NSMALL, SMALL_KB, PROPFIND_RUNS).
# Needs a build (dist/) and the Debian packages of scripts/install-test-deps.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=$(cd "$ROOT/../shared/tools/webdav" 2>/dev/null && pwd) ||
  { echo "bench: ../shared/tools/webdav not found beside the repository" >&2; exit 1; }
[ -f "$ROOT/dist/src/cli/main.js" ] || { echo "bench: no build; run npm run build (npm run bench does)" >&2; exit 1; }

. "$ROOT/bench/lib/webdav-servers.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/marble-bench.XXXXXX")   # a mkdtemp dir: o+x parents, as the anchor needs
cleanup() {
  set +e   # best effort: whatever is still up goes down, and the figures' exit status stands
  webdav_servers_stop "$W" "$TOOLS"
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
webdav_servers_start "$W" "$ROOT" "$TOOLS"

# each server on the same disk (W), the same file sizes. The machine is shared and its load
# drifts, so the two alternate for BENCH_ROUNDS rounds (default 2; apache first in odd rounds,
# marble first in even ones) and each figure is the median over the rounds.
measure() {   # NAME URL PID ROUND
  local out="$W/$1.$4.figures"
  SERVER_PID=$3 LOCAL_DIR=$W "$TOOLS/dav-throughput.sh" "$2" > "$out" 2> "$W/$1.$4.log" ||
    { echo "bench: dav-throughput.sh against $1 failed:" >&2; cat "$out" >&2; tail -20 "$W/$1.$4.log" >&2; return 1; }
  sed -n 's/^dav-throughput: \([a-z_0-9]*\) \([0-9.]*\) \(.*\)$/\1 \2 \3/p' "$out" >> "$W/$1.all"
  # each round's figures on stderr: the medians hide how far the shared machine's load moved them
  echo "bench: round $4 $1: $(grep -v '^local_' "$out" | sed -n 's/^dav-throughput: \([a-z_]*\) \([0-9.]*\) .*/\1 \2/p' | tr '\n' ' ')" >&2
}
ROUNDS=${BENCH_ROUNDS:-2}
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    measure apache "$AURL" "$APID" "$r"; measure marble "$MURL" "$MPID" "$r"
  else
    measure marble "$MURL" "$MPID" "$r"; measure apache "$AURL" "$APID" "$r"
  fi
done
# NAME VALUE UNIT per figure, the median over the rounds, in first-seen order
for s in apache marble; do
  awk '{ if (!($1 in u)) { o[++k] = $1; u[$1] = $3 } v[$1, ++c[$1]] = $2 }
       END { for (i = 1; i <= k; i++) { n = o[i]; m = c[n]
               for (a = 1; a <= m; a++) x[a] = v[n, a]
               for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
               med = (m % 2) ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2
               printf "%s %s %s\n", n, (n == "propfind_depth1") ? sprintf("%.4f", med) : sprintf("%.1f", med), u[n] } }' \
    "$W/$s.all" > "$W/$s.tsv"
done

# per figure: marble, apache, ratio (marble/apache; apache/marble for the PROPFIND time, so
# above 1 always means Marble does better); then the local-disk reference
while read -r n v u; do
  case $n in local_*) continue ;; esac
  echo "webdav marble $n $v $u"
  a=$(awk -v n="$n" '$1 == n {print $2 " " $3}' "$W/apache.tsv")
  [ -n "$a" ] || continue
  echo "webdav apache $n $a"
  case $n in server_*) continue ;; esac   # memory: reported, not a race
  awk -v n="$n" -v m="$v" -v a="${a%% *}" 'BEGIN {
    r = (n == "propfind_depth1") ? (m > 0 ? a / m : 0) : (a > 0 ? m / a : 0)
    s = sprintf("%.2f", r)
    printf "webdav ratio %s %s%s\n", n, s, (s + 0 < 0.8 ? " (below the 0.80 target)" : "") }'
done < "$W/marble.tsv"
# the disk both servers wrote to (measured in the marble runs)
{ grep '^local_' "$W/marble.tsv" || true; } | while read -r n v u; do echo "webdav local $n $v $u"; done
