import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Block buffers live outside the JS heap: V8 sees a small object per 128 KiB block and, the
 * heap hardly growing, collects rarely, so dead blocks pile up by tens of MB during a
 * transfer (measured: arrayBuffers swinging 0 -> 33 MB, RSS with it). They die young, so a
 * young-generation collection after every few MB of blocks handled gives them back (~1 ms).
 */
const EVERY_BYTES = 8 * 1024 * 1024;

type Collector = (options: { type: 'minor' }) => void;
let collector: Collector | null | undefined;
let pending = 0;

/** `bytes` of buffers were handled and dropped; collects them once enough have been. */
export function droppedBuffers(bytes: number): void {
  pending += bytes;
  if (pending < EVERY_BYTES) return;
  pending = 0;
  gc()?.({ type: 'minor' });
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
