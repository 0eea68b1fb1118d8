import { native } from './native.js';

/**
 * glibc's allocator, left to itself, raises its mmap threshold to the largest buffer freed so
 * far, and its trim threshold to twice that: after a few 16 MiB frames, everything smaller comes
 * from its heap, and freed heap stays with the process (a peer receiving 256 MiB held 46 MB
 * there at its peak, mostly free). A fixed threshold stops that adjustment. At 2 MiB, the
 * buffers a transfer churns through (128 KiB blocks, 1 MiB NFS records) still come from the
 * heap, recycled without system calls, and buffer-gc's periodic trim hands back what is freed.
 *
 * At 128 KiB (each block its own mapping, unmapped when freed), a 256 MiB transfer cost ~140 ms
 * of system time per allocation site in page faults and zeroing (2,048 buffers of 128 KiB + 8
 * bytes: 150 ms against 19 ms), an NFS upload of 256 MiB 0.20-0.25 s instead of 0.11-0.17 s of the
 * server's system time, with no lower peak RSS in a 256 MiB sync (98.7-100.8 MB, 3 runs,
 * against 97.7-98.3 MB, 2 runs).
 */
const MMAP_THRESHOLD = 2 * 1024 * 1024;
/**
 * A fixed mmap threshold fixes the trim threshold too, at glibc's default of 128 KiB, which is
 * also the padding it adds when it grows the heap: a free that leaves more than that at the top
 * shrinks the heap, and the next allocation grows it again. Every SQLite transaction did that
 * five times (ten brk calls, strace of one NFS create), the pages coming back zeroed each time;
 * at 256 KiB or more, none. A small gain: in 300-file `nfs-cp` loops interleaved with the code
 * before (7 pairs, a noisy machine) NFS CREATE took 0.39-0.44 ms against 0.41-0.51, and the
 * create rate moved less than the noise. Not higher: at 4 MiB (what glibc itself would pick)
 * the sending peer of `bench/sync.sh` peaked at 102-109 MB RSS against 94-95 MB, at 512 KiB at
 * 94.5-95.8 MB (2 runs each).
 */
const TRIM_THRESHOLD = 512 * 1024;

/** Sets glibc's allocator up for a process that moves large blocks. No-op without the native addon. */
export function tuneAllocator(): void {
  if (!native) return;
  native.mallopt(native.M_MMAP_THRESHOLD, MMAP_THRESHOLD);
  if (native.M_TRIM_THRESHOLD !== undefined) native.mallopt(native.M_TRIM_THRESHOLD, TRIM_THRESHOLD);
}
