import type { Entry, FileSystemView, WriteSession } from '../../src/fs/types.js';
import { nowNs } from '../../src/core/model.js';

/**
 * NFS writes go through the view's write sessions: NFS has no close, so one session per
 * file stays open across WRITEs and becomes one change on COMMIT, on a FILE_SYNC write,
 * or after `idleMs` without writes. A session idle for `closeMs` more is ended.
 *
 * Until a session commits, readers of the view still see the committed file, so the
 * attributes NFS reports for a file with uncommitted writes come from {@link overlay}:
 * the size the writes make and the time of the last one. A READ of such a file commits
 * first (see read.ts), so what a client reads is always what it wrote.
 */
export interface WriteOverlay {
  size: number;
  mtimeNs: bigint;
}

interface OpenWrite {
  session: WriteSession;
  size: number;
  mtimeNs: bigint;
  /** writes not yet committed */
  dirty: boolean;
  /** bumped by every write; a commit clears `dirty` only if none came in meanwhile */
  generation: number;
  idle: NodeJS.Timeout | null;
  close: NodeJS.Timeout | null;
}

export class WriteTable {
  private readonly open = new Map<string, OpenWrite>();
  private readonly opening = new Map<string, Promise<OpenWrite>>();

  constructor(
    private readonly view: FileSystemView,
    private readonly opts: {
      idleMs: number;
      closeMs: number;
      onCommitted: (key: string, entry: Entry) => void;
      /** the attributes {@link overlay} gives may have changed (a write, a truncate, a commit, a file forgotten) */
      onOverlayChanged: () => void;
      onError: (key: string, e: unknown) => void;
    },
  ) {}

  /** Attributes of uncommitted writes to `key`, if any. */
  overlay(key: string): WriteOverlay | undefined {
    const w = this.open.get(key);
    return w?.dirty ? { size: w.size, mtimeNs: w.mtimeNs } : undefined;
  }

  isDirty(key: string): boolean {
    return this.open.get(key)?.dirty ?? false;
  }

  /** Writes `data` at `offset` of the file `key` (at `path`, whose committed state is `entry`). */
  async write(key: string, path: string, entry: Entry, offset: number, data: Buffer): Promise<WriteOverlay> {
    const w = await this.session(key, path);
    if (!w.dirty) w.size = entry.size;
    w.dirty = true;
    w.generation++;
    if (data.length) w.size = Math.max(w.size, offset + data.length);
    w.mtimeNs = nowNs();
    this.opts.onOverlayChanged();
    this.arm(key, w);
    await w.session.write(offset, data);
    return { size: w.size, mtimeNs: w.mtimeNs };
  }

  async truncate(key: string, path: string, size: number): Promise<void> {
    const w = await this.session(key, path);
    w.dirty = true;
    w.generation++;
    w.size = size;
    w.mtimeNs = nowNs();
    this.opts.onOverlayChanged();
    this.arm(key, w);
    await w.session.truncate(size);
  }

  /** Commits uncommitted writes to `key` as one change; returns the committed entry, or undefined if nothing was open. */
  async commit(key: string): Promise<Entry | undefined> {
    const w = this.open.get(key);
    if (!w) return undefined;
    const generation = w.generation;
    const entry = await w.session.flush();
    if (w.generation === generation && w.dirty) {
      w.dirty = false;
      this.opts.onOverlayChanged();
    }
    this.opts.onCommitted(key, entry);
    return entry;
  }

  /**
   * COMMIT and stable WRITEs: commits `key`'s writes, then makes every commit durable,
   * including one an idle timeout made earlier without syncing.
   */
  async commitStable(key: string): Promise<Entry | undefined> {
    const entry = await this.commit(key);
    await this.view.syncCommitted();
    return entry;
  }

  /** Forgets a file that was removed (the view has already aborted its session). */
  forget(key: string): void {
    const w = this.open.get(key);
    if (!w) return;
    this.open.delete(key);
    this.clearTimers(w);
    if (w.dirty) this.opts.onOverlayChanged();
    void w.session.abort().catch(() => undefined);
  }

  /** Commits and ends every session (server shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.open.entries()];
    this.open.clear();
    await Promise.allSettled(
      all.map(async ([key, w]) => {
        this.clearTimers(w);
        try {
          await w.session.close();
        } catch (e) {
          this.opts.onError(key, e);
        }
      }),
    );
  }

  private async session(key: string, path: string): Promise<OpenWrite> {
    const have = this.open.get(key);
    if (have) return have;
    let pending = this.opening.get(key);
    if (!pending) {
      pending = this.view.openWrite(path).then((session) => {
        const w: OpenWrite = { session, size: 0, mtimeNs: 0n, dirty: false, generation: 0, idle: null, close: null };
        this.open.set(key, w);
        return w;
      });
      this.opening.set(key, pending);
      pending.then(
        () => this.opening.delete(key),
        () => this.opening.delete(key),
      );
    }
    return pending;
  }

  private arm(key: string, w: OpenWrite): void {
    this.clearTimers(w);
    w.idle = setTimeout(() => {
      w.idle = null;
      this.commit(key).catch((e) => this.opts.onError(key, e));
      w.close = setTimeout(() => this.end(key, w), this.opts.closeMs);
      w.close.unref();
    }, this.opts.idleMs);
    w.idle.unref();
  }

  private end(key: string, w: OpenWrite): void {
    if (this.open.get(key) !== w || w.dirty) return;
    this.open.delete(key);
    this.clearTimers(w);
    w.session.close().catch((e) => this.opts.onError(key, e));
  }

  private clearTimers(w: OpenWrite): void {
    if (w.idle) clearTimeout(w.idle);
    if (w.close) clearTimeout(w.close);
    w.idle = w.close = null;
  }
}
