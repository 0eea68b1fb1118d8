import { BLOCK_SIZE } from './blocks.js';
import { native } from './native.js';

/**
 * Blocks are 128 KiB, so block buffers (and anything larger) get their own mapping, given back
 * to the system the moment they are freed. Left to itself, glibc raises this threshold to the
 * largest buffer freed so far, and blocks then come from its heap, which fragments: a peer
 * receiving 256 MiB held 46 MB there at its peak, mostly free. Socket reads (64 KiB) stay
 * below the threshold; they are recycled quickly at one size and fragment little.
 */
const MMAP_THRESHOLD = BLOCK_SIZE;

/** Sets glibc's allocator up for a process that moves large blocks. No-op without the native addon. */
export function tuneAllocator(): void {
  native?.mallopt(native.M_MMAP_THRESHOLD, MMAP_THRESHOLD);
}
