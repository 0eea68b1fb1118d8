import type { FileHandle } from 'node:fs/promises';
import { BLOCK_SIZE, blockCount, changedBlocks, HASH_SIZE } from '../core/blocks.js';
import type { Head } from '../core/model.js';
import { nowNs } from '../core/model.js';
import type { Store } from '../core/store.js';
import { ContentUnavailable, fromSystemError, NotFound } from './errors.js';
import type { Entry, WriteSession } from './types.js';

export interface SessionHost {
  readonly store: Store;
  /** The node's current head in the main tree, if it still exists. */
  currentHead(nodeId: string): Head | undefined;
  entryOf(head: Head): Entry;
  contentHashes(head: Head): Buffer;
  /** Called when the session ends, so the host can forget it. */
  ended(session: FileWriteSession): void;
}

/**
 * Random-access writes to one file, collected in a working copy (a clone of the current
 * blob) and committed as one change on flush, close, or after `idleMs` without writes.
 * Only blocks whose hash differs from the version it replaces are recorded as written.
 */
export class FileWriteSession implements WriteSession {
  private working: { dataId: number; fh: FileHandle; size: number; dirty: Set<number> } | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  users = 1;

  constructor(
    private readonly host: SessionHost,
    readonly key: string,
    private readonly path: string,
    private readonly idleMs: number,
  ) {}

  write(position: number, data: Buffer): Promise<void> {
    return this.serial(async () => {
      const w = await this.ensureWorking();
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await w.fh.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
      const end = position + data.length;
      if (position > w.size) markDirty(w.dirty, w.size, position); // the gap reads as zeros
      markDirty(w.dirty, position, end);
      w.size = Math.max(w.size, end);
      this.armIdle();
    });
  }

  truncate(size: number): Promise<void> {
    return this.serial(async () => {
      const w = await this.ensureWorking();
      await w.fh.truncate(size);
      markDirty(w.dirty, Math.min(size, w.size), Math.max(size, w.size));
      if (size < w.size && size % BLOCK_SIZE) w.dirty.add(Math.floor(size / BLOCK_SIZE));
      w.size = size;
      this.armIdle();
    });
  }

  flush(): Promise<Entry> {
    return this.serial(() => this.commitWorking());
  }

  async close(): Promise<Entry> {
    const entry = await this.flush();
    this.end();
    return entry;
  }

  async abort(): Promise<void> {
    await this.serial(async () => {
      if (!this.working) return;
      await this.working.fh.close().catch(() => undefined);
      this.host.store.discardBlob(this.working.dataId);
      this.working = null;
    });
    this.end();
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.host.ended(this);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run.catch((e) => {
      throw fromSystemError(e, this.path);
    });
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.flush().catch(() => undefined);
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private async ensureWorking() {
    if (this.working) return this.working;
    const head = this.head();
    if (head.pending) throw ContentUnavailable(this.path);
    const store = this.host.store;
    const dataId = store.allocateDataId();
    if (head.dataId !== null) await store.blobs.clone(head.dataId, dataId);
    else store.blobs.createEmpty(dataId);
    const fh = await store.blobs.openFile(dataId, 'r+');
    this.working = { dataId, fh, size: head.size, dirty: new Set() };
    return this.working;
  }

  private head(): Head {
    const head = this.host.currentHead(this.key);
    if (!head) throw NotFound(this.path);
    return head;
  }

  private async commitWorking(): Promise<Entry> {
    const w = this.working;
    if (!w) return this.host.entryOf(this.head());
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const store = this.host.store;
    await w.fh.sync();
    await w.fh.close();
    this.working = null;
    // Rebase onto whatever is current now: a write that landed meanwhile stays in history.
    const head = this.host.currentHead(this.key);
    if (!head) {
      store.discardBlob(w.dataId);
      throw NotFound(this.path);
    }
    const base = this.host.contentHashes(head);
    const hashes = Buffer.alloc(blockCount(w.size) * HASH_SIZE);
    base.copy(hashes, 0, 0, Math.min(base.length, hashes.length));
    const rehash = [...w.dirty].filter((b) => b < blockCount(w.size));
    // Blocks past the base's end were never in `base`: hash them too.
    for (let b = Math.floor(base.length / HASH_SIZE); b < blockCount(w.size); b++) if (!w.dirty.has(b)) rehash.push(b);
    for (const [b, h] of await store.blobs.hashBlocks(w.dataId, w.size, rehash)) h.copy(hashes, b * HASH_SIZE);
    const touched = changedBlocks(base, hashes);
    if (!touched.length && w.size === head.size) {
      store.discardBlob(w.dataId);
      return this.host.entryOf(head);
    }
    try {
      const [next] = store.commit([
        {
          kind: 'write',
          head,
          meta: { ...head, size: w.size, mtimeNs: nowNs() },
          content: { dataId: w.dataId, size: w.size, hashes, touched },
        },
      ]);
      return this.host.entryOf(next!);
    } catch (e) {
      store.discardBlob(w.dataId);
      throw e;
    }
  }
}

function markDirty(dirty: Set<number>, start: number, end: number): void {
  if (end <= start) return;
  for (let b = Math.floor(start / BLOCK_SIZE); b <= Math.floor((end - 1) / BLOCK_SIZE); b++) dirty.add(b);
}
