#!/usr/bin/env bash
# scripts/install-test-deps.sh — the Debian packages the interop tests and benchmarks use.
#
# Installs what is missing (apt-get install; `apt-get update` and one more try only when that
# fails, as ../shared/tools/webdav/common.sh does). Fast and silent when everything is there.
# Not root and something missing: lists it and exits 1 (CI runs as root; the interop tests must
# not be skipped for want of a client, so a missing one is an error, not a skip).
set -eu

# package -> what uses it
PKGS=(
  litmus      # test/interop/litmus: the WebDAV conformance suite
  davfs2      # test/interop/davfs: kernel-level WebDAV mount
  rclone      # test/interop/rclone
  apache2     # apache-anchor.sh: the mod_dav reference in litmus and bench
  curl        # every harness script, bench
  coreutils   # sha256sum, dd, head, timeout
  procps      # ps, used by dav-throughput.sh to find a server's children
  jq          # bench
  util-linux  # mount/umount (tmpfs data dir in the full-disk test, davfs2)
  util-linux-extra  # fincore: page-cache residency (test/unit/core/native.test.ts, unit/nfs/nfs3-procedures READ, integration/page-cache)
  libnfs-utils  # test/interop/nfs: nfs-ls, nfs-cp, nfs-cat and libnfs for nfsops.py
  prometheus  # test/integration/metrics: prom-run.sh scrapes two instances, check-dashboard.sh
  chromium    # test/integration/status-page: headless, driven by playwright-core
  fonts-dejavu-core  # chromium's screenshots need a font
  tmux        # test/integration/status-cli: marble status in a real terminal
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-test-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "install-test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# installing apache2 would start Debian's own service on port 80 where no policy-rc.d blocks
# it; the tests only ever run apache-anchor.sh's private instance, so keep the service down
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq "${missing[@]}" >&2 ||
  { apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2; }
echo "install-test-deps: done" >&2
