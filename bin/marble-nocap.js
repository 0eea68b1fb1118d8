#!/usr/bin/env node
// The young generation is capped at 8 MiB (src/core/young-generation.ts). Measured 2026-11-24 on
// a peer that had received three 256 MiB files: heap 27.5 MB with the cap (young 8 MiB), 51 MB
// without (young 33.5 MiB); no loss of speed seen in those transfers.
// Other V8 flags tried and left out:
// - --semi-space-growth-factor=1 from the start (1 MiB young generation) cost ~7% of WebDAV
//   large-PUT throughput and ~5-10% of a 256 MiB sync;
// - --optimize-for-size kept the heap at 18-20 MB instead of 34-60 MB through a sync, but cost
//   a third of WebDAV's large-PUT throughput and a tenth of small-file rates.
const YOUNG_GENERATION_CAP = 8 * 1024 * 1024;
Promise.resolve({ capYoungGeneration() {} })
  .then((m) => m.capYoungGeneration(YOUNG_GENERATION_CAP))
  .then(() => import('../dist/src/cli/main.js'))
  .then((m) => m.main(process.argv))
  .catch((err) => {
    console.error(err?.stack ?? err);
    process.exit(1);
  });
