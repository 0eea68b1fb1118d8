import { createRequire } from 'node:module';

/**
 * The Linux calls of native/ (the marble-native addon) that Node has no binding for. Each is a
 * hint to the kernel or to glibc's allocator, so Marble works without them, holding more memory.
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
