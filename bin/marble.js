#!/usr/bin/env node
// Keep the young generation small: a sync moves many short-lived buffers, and the
// default semi-space lets the heap balloon to no benefit (measured: 10 MB less at idle).
// Not --optimize-for-size: it kept the heap at 18-20 MB instead of 34-60 MB through a sync,
// but cost a third of WebDAV's large-PUT throughput and a tenth of small-file rates
// (bench/webdav.sh, same run, 2026-11-24).
import v8 from 'node:v8';
v8.setFlagsFromString('--max-semi-space-size=2');
import('../dist/src/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
