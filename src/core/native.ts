import { createRequire } from 'node:module';

/**
 * The Linux calls of native/ (the marble-native addon) that Node has no binding for. Most are
 * hints to the kernel or to glibc's allocator, so Marble works without them, holding more
 * memory; without the zero-copy pair (sendRange, pagesCached) replies are copied, as before.
 */
export interface NativeCalls {
  /** posix_fadvise(POSIX_FADV_DONTNEED) over the whole file, on the thread pool. */
  dropCache(fd: number): Promise<void>;
  /** glibc mallopt(); true when the option was taken. */
  mallopt(param: number, value: number): boolean;
  /** glibc malloc_trim(); true when memory went back to the system. */
  mallocTrim(pad: number): boolean;
  readonly M_MMAP_THRESHOLD: number;
  /** absent from an addon built before it was added: then left alone */
  readonly M_TRIM_THRESHOLD?: number;
  /**
   * Sends `head`, `length` bytes of the file `file` from `offset` (sendfile(2), straight from
   * the page cache) and `pad` zero bytes (at most 3) on `socket`, without blocking. Returns how
   * many of those bytes the kernel took: fewer than all when the socket's buffer filled or a
   * call failed (the caller sends the rest its usual way, which reports the error). Linux only.
   */
  sendRange?(socket: number, head: Buffer, file: number, offset: number, length: number, pad: number): number;
  /** Whether every page of the range is in the page cache (mincore(2)): sendRange will not wait for the disk. Linux only. */
  pagesCached?(file: number, offset: number, length: number): boolean;
}

/** The addon, or null where it was not built (npm ci builds it with node-gyp). */
export const native: NativeCalls | null = load();

function load(): NativeCalls | null {
  try {
    return createRequire(import.meta.url)('marble-native') as NativeCalls | null;
  } catch {
    return null;
  }
}
