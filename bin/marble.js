#!/usr/bin/env node
// The young generation is capped at 8 MiB (src/core/young-generation.ts): V8 grows it to 32 MiB
// on a busy peer. Measured 2026-11-24 with bench/sync.sh: <fill in>.
// Other V8 flags tried and left out:
// - --semi-space-growth-factor=1 from the start (1 MiB young generation) cost ~7% of WebDAV
//   large-PUT throughput and ~5-10% of a 256 MiB sync;
// - --optimize-for-size kept the heap at 18-20 MB instead of 34-60 MB through a sync, but cost
//   a third of WebDAV's large-PUT throughput and a tenth of small-file rates.
const YOUNG_GENERATION_CAP = 8 * 1024 * 1024;
import('../dist/src/core/young-generation.js')
  .then((m) => m.capYoungGeneration(YOUNG_GENERATION_CAP))
  .then(() => import('../dist/src/cli/main.js'))
  .then((m) => m.main(process.argv))
  .catch((err) => {
    console.error(err?.stack ?? err);
    process.exit(1);
  });
