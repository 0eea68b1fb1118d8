#!/usr/bin/env node
// Memory set-up before anything else loads (src/core/allocator.ts, young-generation.ts).
// The young generation is capped at 4 MiB. Measured 2026-11-24 with `SYNC_BENCH_ONLY=marble
// bash bench/sync.sh`, two runs each, with the allocator settings of then (a 128 KiB mmap
// threshold, a trim after each forced collection): peak RSS of the two peers 96.0-97.6 MB with a
// 4 MiB cap, 96.9-100.4 MB with 8 MiB, 102-110 MB with neither change; 256 MiB arrival
// 2.28-2.44 s, 2.30-2.46 s and 2.17-2.69 s.
// Measured again later that day with the allocator settings of src/core: an 8 MiB cap made a
// 500-entry WebDAV PROPFIND faster (4.3-4.9 ms against 5.9) but the 256 MiB arrival slower
// (2.16-2.33 s, 4 runs, against 1.6-1.9 s), at the same peak RSS; the cap stayed at 4 MiB.
// Other V8 flags tried and left out:
// - --semi-space-growth-factor=1 from the start (1 MiB young generation) cost ~7% of WebDAV
//   large-PUT throughput and ~5-10% of a 256 MiB sync;
// - --optimize-for-size kept the heap at 18-20 MB instead of 34-60 MB through a sync, but cost
//   a third of WebDAV's large-PUT throughput and a tenth of small-file rates.
const YOUNG_GENERATION_CAP = 4 * 1024 * 1024;
Promise.all([import('../dist/src/core/allocator.js'), import('../dist/src/core/young-generation.js')])
  .then(([allocator, young]) => {
    allocator.tuneAllocator();
    young.capYoungGeneration(YOUNG_GENERATION_CAP);
  })
  .then(() => import('../dist/src/cli/main.js'))
  .then((m) => m.main(process.argv))
  .catch((err) => {
    console.error(err?.stack ?? err);
    process.exit(1);
  });
