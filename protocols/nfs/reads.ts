import type { Entry, FileSystemView, ReadHandle } from '../../src/fs/types.js';

interface Cached {
  handle: Promise<ReadHandle>;
  contentTag: string;
  timer: NodeJS.Timeout;
  users: number;
  /** dropped from the cache: close when the last user is done */
  retired: boolean;
}

/**
 * Open read handles, kept briefly per file so a sequential reader does not open the
 * blob for every READ. A handle is closed after `idleMs` without reads, and retired
 * as soon as the file's content changes (its contentTag differs) or it is removed;
 * a retired handle closes once the READs using it are done.
 */
export class ReadCache {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly view: FileSystemView,
    private readonly idleMs: number,
    private readonly maxOpen = 256,
  ) {}

  /** Runs `fn` with a read handle on the current content of `key` (at `path`, currently `entry`). */
  async use<T>(key: string, path: string, entry: Entry, fn: (h: ReadHandle) => Promise<T>): Promise<T> {
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
      c = { handle: this.view.openRead(path), contentTag: entry.contentTag, timer, users: 0, retired: false };
      this.cache.set(key, c);
    }
    const cached = c;
    cached.users++;
    try {
      return await fn(await cached.handle);
    } catch (e) {
      if (this.cache.get(key) === cached) this.invalidate(key);
      throw e;
    } finally {
      if (--cached.users === 0 && cached.retired) close(cached);
    }
  }

  /** Retires the handle of `key`, if any (its content changed or it was removed). */
  invalidate(key: string): void {
    const c = this.cache.get(key);
    if (!c) return;
    this.cache.delete(key);
    clearTimeout(c.timer);
    c.retired = true;
    if (c.users === 0) close(c);
  }

  closeAll(): void {
    for (const key of [...this.cache.keys()]) this.invalidate(key);
  }
}

function close(c: Cached): void {
  c.handle.then((h) => h.close()).catch(() => undefined);
}
