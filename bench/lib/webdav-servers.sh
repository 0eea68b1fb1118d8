# bench/lib/webdav-servers.sh — sourced by the WebDAV benchmarks: Apache mod_dav and marble serve
# side by side in one work dir, on the same disk.
#   webdav_servers_start W ROOT TOOLS [NODE_ARG...]  sets AURL APID (apache) MURL MPID (marble);
#                                                    NODE_ARGs go to node before bin/marble.js
#   webdav_servers_stop W TOOLS                      best effort; safe to call twice
# W must be a fresh mkdtemp dir (o+x parents: the anchor's workers run as another user).

_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

webdav_servers_start() {
  local w=$1 root=$2 tools=$3
  shift 3
  mkdir -p "$w/apache"; chmod 711 "$w"
  AURL=
  for _ in 1 2 3; do
    AURL=$("$tools/apache-anchor.sh" start "$w/apache" "$(_free_port)" 2>"$w/apache-start.log") && break
    AURL=
  done
  [ -n "$AURL" ] || { echo "bench: apache-anchor.sh failed:" >&2; cat "$w/apache-start.log" >&2; return 1; }
  APID=$(cat "$w/apache/httpd.pid")
  # marble on port 0 everywhere (NFS too: its default port may be taken); URL from its first lines
  mkdir -p "$w/marble"
  node "$@" "$root/bin/marble.js" serve --data "$w/marble/data" --name bench \
    --webdav 127.0.0.1:0 --http 127.0.0.1:0 --nfs 127.0.0.1:0 > "$w/marble/out" 2> "$w/marble/err" &
  MPID=$!
  for _ in $(seq 1 300); do grep -qx ready "$w/marble/out" 2>/dev/null && break; kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
  grep -qx ready "$w/marble/out" 2>/dev/null ||
    { echo "bench: marble serve did not get ready:" >&2; cat "$w/marble/out" >&2; tail -20 "$w/marble/err" >&2; return 1; }
  MURL=$(sed -n 's/^webdav: //p' "$w/marble/out" | head -1)
}

webdav_servers_stop() {
  local w=$1 tools=$2
  if [ -n "${MPID:-}" ] && kill "$MPID" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$MPID" 2>/dev/null || true
  fi
  MPID=
  "$tools/apache-anchor.sh" stop "$w/apache" >/dev/null 2>&1 || true
}
