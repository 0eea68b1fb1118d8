import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { native } from './native.js';

/**
 * Block buffers live outside the JS heap: V8 sees a small object per 128 KiB block and, the
 * heap hardly growing, collects rarely, so dead blocks pile up by tens of MB during a
 * transfer (measured: arrayBuffers swinging 0 -> 33 MB, RSS with it). They die young, so a
 * young-generation collection after every EVERY_BYTES of blocks handled gives them back
 * (~0.5 ms each). 4 MiB rather than 8: in `SYNC_BENCH_ONLY=marble bash bench/sync.sh`, the
 * 256 MiB arrival took 1.61-1.87 s (4 runs) against 1.95-2.60 s (5), and the peers peaked at
 * 92-101 MB RSS against 96-103 MB.
 *
 * Full collections during a transfer were tried for blocks promoted before they died: in an
 * NFS upload of 256 MiB they took the server's user time from 0.3-0.4 s to 0.7-1.0 s, with no
 * lower peak RSS in a sync. One runs when the process goes quiet instead (noteActivity).
 *
 * Freed memory in the allocator's heap goes back to the system (malloc_trim) at most once per
 * TRIM_EVERY_MS while collections keep coming, and once after the last. A trim after every
 * collection cost an NFS upload of 256 MiB ~0.15 s of system time (each trim hands back the
 * pages the next socket reads fault in again); with none at all, the peers of a 256 MiB sync
 * peaked at 100-103 MB instead of 94-96.
 */
const EVERY_BYTES = 4 * 1024 * 1024;
const TRIM_EVERY_MS = 1000;
const SETTLE_MS = 2000;

type Collector = (options?: { type: 'minor' }) => void;
let collector: Collector | null | undefined;
let pending = 0;
let trimPending = false;
let settle: NodeJS.Timeout | null = null;

/** `bytes` of buffers were handled and dropped; collects them once enough have been. Returns whether it did. */
export function droppedBuffers(bytes: number): boolean {
  pending += bytes;
  if (pending < EVERY_BYTES) return false;
  pending = 0;
  const collect = gc();
  if (!collect) return false;
  collect({ type: 'minor' });
  scheduleTrim();
  noteActivity();
  return true;
}

/**
 * Work was done (a transaction committed, buffers collected). Once none has come for SETTLE_MS,
 * one full collection and a trim return the process to its resting size: without them a peer
 * kept what a burst left behind (V8's old generation, freed heap), resting at 86-90 MB after
 * the workloads of bench/sync.sh instead of 72-75, and the next burst peaked from there.
 */
export function noteActivity(): void {
  if (settle) {
    settle.refresh();
    return;
  }
  settle = setTimeout(() => {
    settle = null;
    gc()?.();
    native?.mallocTrim(0);
  }, SETTLE_MS);
  settle.unref();
}

function scheduleTrim(): void {
  if (!native || trimPending) return;
  trimPending = true;
  // Not at once either: the collector frees backing stores on its own threads.
  setTimeout(() => {
    trimPending = false;
    native!.mallocTrim(0);
  }, TRIM_EVERY_MS).unref();
}

function gc(): Collector | null {
  if (collector === undefined) {
    try {
      // The flag gives contexts created from now on a `gc` function; the main one has none.
      v8.setFlagsFromString('--expose-gc');
      collector = runInNewContext('gc') as Collector;
    } catch {
      collector = null;
    }
  }
  return collector;
}
