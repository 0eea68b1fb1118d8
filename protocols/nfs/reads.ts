import { native } from '../../src/core/native.js';
import type { Entry, FileSystemView, ReadHandle } from '../../src/fs/types.js';
import type { FileTail } from './rpc/file-tail.js';

/** A read started ahead of the client: the next range of a sequential reader. */
interface Ahead {
  start: number;
  length: number;
  /** the bytes read (fewer at the end of the file), or undefined if the read failed */
  data: Promise<Buffer | undefined>;
}

interface Cached {
  handle: Promise<ReadHandle>;
  contentTag: string;
  timer: NodeJS.Timeout;
  users: number;
  /** dropped from the cache: close when the last user is done */
  retired: boolean;
  /** where the last read ended: a read starting there is sequential */
  next: number;
  ahead: Ahead | undefined;
}

/** Reads at least this long are read ahead when sequential (smaller ones are cheap synchronous preads). */
const READ_AHEAD_MIN = 64 * 1024;
/** Reads at least this long get a buffer of POOLED bytes from the pool (a 1 MiB READ is the common case). */
const POOL_MIN = 64 * 1024;
const POOLED = 1024 * 1024;
/** Buffers kept for reuse: fresh 1 MiB buffers per READ cost a full GC every few dozen (external memory). */
const POOL_KEEP = 16;

/**
 * Open read handles, kept briefly per file so a sequential reader does not open the
 * blob for every READ. A handle is closed after `idleMs` without reads, and retired
 * as soon as the file's content changes (its contentTag differs) or it is removed;
 * a retired handle closes once the READs using it are done.
 *
 * {@link read} also reads ahead: after a sequential read it starts reading the next
 * range of the same length, so the next READ finds its data ready while the reply to
 * this one is on the wire. Data read ahead belongs to one content version (one
 * handle) and is bounded by `maxAheadBytes` across all files.
 *
 * Where the range asked for is already in the page cache, {@link fileRange} lends the open
 * file instead, for the reply to be sent from there without a copy (sendfile); the kernel's
 * own read-ahead keeps a sequential reader's next pages coming.
 */
export class ReadCache {
  private readonly cache = new Map<string, Cached>();
  private aheadBytes = 0;
  private readonly pool: Buffer[] = [];

  constructor(
    private readonly view: FileSystemView,
    private readonly idleMs: number,
    private readonly maxOpen = 256,
    private readonly maxAheadBytes = 32 * 1024 * 1024,
  ) {}

  /** Runs `fn` with a read handle on the current content of `key` (at `path`, currently `entry`). */
  async use<T>(key: string, path: string, entry: Entry, fn: (h: ReadHandle) => Promise<T>): Promise<T> {
    const cached = this.acquire(key, path, entry);
    try {
      return await fn(await cached.handle);
    } catch (e) {
      if (this.cache.get(key) === cached) this.invalidate(key);
      throw e;
    } finally {
      this.release(cached);
    }
  }

  /**
   * Up to `want` bytes of `key`'s current content from `start` (fewer only at the end
   * of the file), in a buffer the caller owns.
   */
  async read(key: string, path: string, entry: Entry, start: number, want: number): Promise<Buffer> {
    const cached = this.acquire(key, path, entry);
    try {
      const h = await cached.handle;
      const ahead = cached.ahead;
      cached.ahead = undefined;
      let data: Buffer | undefined;
      if (ahead && ahead.start === start && (ahead.length >= want || start + ahead.length >= entry.size)) {
        data = await ahead.data;
        if (data && data.length > want) data = data.subarray(0, want);
      }
      const sequential = start === cached.next;
      data ??= await readFully(h, this.alloc(want), start);
      cached.next = start + data.length;
      const end = cached.next;
      const length = Math.min(want, entry.size - end);
      if (sequential && data.length === want && want >= READ_AHEAD_MIN && length > 0 && !cached.retired && this.aheadBytes + length <= this.maxAheadBytes) {
        this.readAhead(cached, h, end, length);
      }
      return data;
    } catch (e) {
      if (this.cache.get(key) === cached) this.invalidate(key);
      throw e;
    } finally {
      this.release(cached);
    }
  }

  /**
   * `key`'s content from `start` for `want` bytes (not past its end) as a range of its open
   * blob file, if every page of it is in the page cache (a read ahead of it is then dropped:
   * cheaper to send than its copy); else undefined, and {@link read} is the way. `release`
   * once the range is sent.
   */
  async fileRange(key: string, path: string, entry: Entry, start: number, want: number): Promise<{ tail: FileTail; release: () => void } | undefined> {
    if (!native?.pagesCached) return undefined;
    const cached = this.acquire(key, path, entry);
    let lent = false;
    try {
      const { fd } = await cached.handle;
      if (fd === undefined || !native.pagesCached(fd, start, want)) return undefined;
      cached.ahead = undefined;
      cached.next = start + want;
      lent = true;
      return { tail: { fd, offset: start, length: want }, release: () => this.release(cached) };
    } catch (e) {
      if (this.cache.get(key) === cached) this.invalidate(key);
      throw e;
    } finally {
      if (!lent) this.release(cached);
    }
  }

  /**
   * Gives back a buffer {@link read} returned, once nothing uses it any more (its reply
   * is written): it may be handed out again. Buffers not given back are left to the GC.
   */
  recycle(data: Buffer): void {
    const ab = data.buffer;
    if (ab.byteLength !== POOLED || data.byteOffset !== 0 || this.pool.length >= POOL_KEEP) return;
    if (!(ab instanceof ArrayBuffer)) return;
    this.pool.push(Buffer.from(ab, 0, POOLED));
  }

  /** A buffer for `n` bytes: pooled for large reads. */
  private alloc(n: number): Buffer {
    if (n < POOL_MIN || n > POOLED) return Buffer.allocUnsafe(n);
    const b = this.pool.pop() ?? Buffer.allocUnsafeSlow(POOLED);
    return b.subarray(0, n);
  }

  /** Retires the handle of `key`, if any (its content changed or it was removed). */
  invalidate(key: string): void {
    const c = this.cache.get(key);
    if (!c) return;
    this.cache.delete(key);
    clearTimeout(c.timer);
    c.retired = true;
    c.ahead = undefined;
    if (c.users === 0) close(c);
  }

  closeAll(): void {
    for (const key of [...this.cache.keys()]) this.invalidate(key);
  }

  private readAhead(cached: Cached, h: ReadHandle, start: number, length: number): void {
    cached.users++;
    this.aheadBytes += length;
    const data = readFully(h, this.alloc(length), start).then(
      (b) => b,
      () => undefined,
    );
    cached.ahead = { start, length, data };
    void data.then(() => {
      this.aheadBytes -= length;
      this.release(cached);
    });
  }

  private acquire(key: string, path: string, entry: Entry): Cached {
    let c = this.cache.get(key);
    if (c && c.contentTag !== entry.contentTag) {
      this.invalidate(key);
      c = undefined;
    }
    if (c) {
      c.timer.refresh();
      this.cache.delete(key); // re-insert: the map's order is least recently used first
      this.cache.set(key, c);
    } else {
      while (this.cache.size >= this.maxOpen) this.invalidate(this.cache.keys().next().value!);
      const timer = setTimeout(() => this.invalidate(key), this.idleMs);
      timer.unref();
      const handle = this.view.openRead(path);
      handle.catch(() => undefined); // observed by the caller; a later close must not see an unhandled rejection
      c = { handle, contentTag: entry.contentTag, timer, users: 0, retired: false, next: 0, ahead: undefined };
      this.cache.set(key, c);
    }
    c.users++;
    return c;
  }

  private release(cached: Cached): void {
    if (--cached.users === 0 && cached.retired) close(cached);
  }
}

/** Fills `data` from `start`; returns the part filled (shorter only at the end of the file). */
async function readFully(h: ReadHandle, data: Buffer, start: number): Promise<Buffer> {
  const want = data.length;
  let n = 0;
  while (n < want) {
    const r = await h.read(data, n, want - n, start + n);
    if (r === 0) break;
    n += r;
  }
  return n === want ? data : data.subarray(0, n);
}

function close(c: Cached): void {
  c.handle.then((h) => h.close()).catch(() => undefined);
}
