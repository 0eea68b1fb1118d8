#!/usr/bin/env node
// No V8 flags here, on purpose (measured 2026-11-24, bench/webdav.sh and bench/sync.sh):
// - capping the young generation (--semi-space-growth-factor=1; --max-semi-space-size cannot
//   be set from here, V8 reads it when the heap is made) saved 12-20 MB on a syncing peer but
//   cost ~7% of WebDAV large-PUT throughput and ~5-10% of a 256 MiB sync;
// - --optimize-for-size kept the heap at 18-20 MB instead of 34-60 MB through a sync, but cost
//   a third of WebDAV's large-PUT throughput and a tenth of small-file rates.
import('../dist/src/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
