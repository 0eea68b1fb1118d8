#!/usr/bin/env node
// Keep the young generation at its initial 1 MB semi-space: a sync moves many short-lived
// buffers, and V8 otherwise grows the new space to 16 MB per semi-space (32 MB resident,
// measured in a sync: the "non-heap" memory of a peer). --max-semi-space-size cannot do it
// from here: V8 reads the maximum once, when the heap is made, before this line runs (it
// would need `node --max-semi-space-size=2 bin/marble.js`); the growth factor is read each
// time the new space would grow.
// Not --optimize-for-size: it kept the heap at 18-20 MB instead of 34-60 MB through a sync,
// but cost a third of WebDAV's large-PUT throughput and a tenth of small-file rates
// (bench/webdav.sh, same run, 2026-11-24).
import v8 from 'node:v8';
v8.setFlagsFromString('--semi-space-growth-factor=1');
import('../dist/src/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
