import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { native } from './native.js';

/**
 * Block buffers live outside the JS heap: V8 sees a small object per 128 KiB block and, the
 * heap hardly growing, collects rarely, so dead blocks pile up by tens of MB during a
 * transfer (measured: arrayBuffers swinging 0 -> 33 MB, RSS with it). They die young, so a
 * young-generation collection after every few MB of blocks handled gives them back (~1 ms).
 *
 * Blocks still in flight at such a collection (being hashed or written) survive it and are
 * promoted; once dead there, only a full collection frees them, and V8 starts one for
 * external memory only after 64 MB have piled up. Measured on a peer receiving three 256 MiB
 * files one after the other: external memory 2.8 -> 7.7 -> 9.9 -> 11.8 MB, RSS with it. So
 * a full collection runs instead once external memory has grown PROMOTED_LIMIT since the last.
 * After either, freed memory in the allocator's heap goes back to the system (malloc_trim).
 */
const EVERY_BYTES = 8 * 1024 * 1024;
const PROMOTED_LIMIT = 8 * 1024 * 1024;

type Collector = (options: { type: 'minor' | 'major' }) => void;
let collector: Collector | null | undefined;
let pending = 0;
let externalAfterFull = 0;

/**
 * `bytes` of buffers were handled and dropped; collects them once enough have been. Returns
 * the kind of collection run, if any.
 */
export function droppedBuffers(bytes: number): 'minor' | 'major' | null {
  pending += bytes;
  if (pending < EVERY_BYTES) return null;
  pending = 0;
  const collect = gc();
  if (!collect) return null;
  const type = externalMemory() - externalAfterFull > PROMOTED_LIMIT ? 'major' : 'minor';
  collect({ type });
  if (type === 'major') externalAfterFull = externalMemory();
  // the collector frees backing stores on its own threads; trim once those have run
  if (native) setImmediate(() => native!.mallocTrim(0));
  return type;
}

function externalMemory(): number {
  return v8.getHeapStatistics().external_memory;
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
