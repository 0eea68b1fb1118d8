import { createHash, type Hash } from 'node:crypto';
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
/** Bytes written between two early write-backs (fdatasync) of a working copy. */
const WRITE_BACK_BYTES = 32 * 1024 * 1024;

interface Working {
  dataId: number;
  fh: FileHandle;
  size: number;
  /** blocks whose hash must be read back at commit */
  dirty: Set<number>;
  /** blocks whose final hash is already known: filled by one sequential run, or all zeros */
  hashed: Map<number, Buffer>;
  /** the block a sequential run of writes is filling, hashed as it arrives */
  run: { block: number; filled: number; hash: Hash } | null;
  /** bytes written since the last early write-back, and that write-back */
  unsynced: number;
  syncing: Promise<void> | null;
}

export class FileWriteSession implements WriteSession {
  private working: Working | null = null;
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
      const w = this.working ?? (await this.ensureWorking());
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await w.fh.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
      const end = position + data.length;
      if (position > w.size) markHole(w, w.size, position);
      noteWrite(w, position, data);
      w.size = Math.max(w.size, end);
      this.writeBack(w, data.length);
      this.armIdle();
    });
  }

  truncate(size: number): Promise<void> {
    return this.serial(async () => {
      const w = await this.ensureWorking();
      await w.fh.truncate(size);
      if (size > w.size) markHole(w, w.size, size);
      else {
        for (const b of w.hashed.keys()) if (b * BLOCK_SIZE + BLOCK_SIZE > size) w.hashed.delete(b);
        if (w.run && w.run.block * BLOCK_SIZE + w.run.filled > size) w.run = null;
        markDirty(w.dirty, size, w.size);
        if (size % BLOCK_SIZE) w.dirty.add(Math.floor(size / BLOCK_SIZE));
      }
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
      await this.working.syncing;
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

  /**
   * Starts write-back of what was written so far once enough has piled up, so the fsync at
   * commit only waits for the tail. One at a time; never awaited by writes.
   */
  private writeBack(w: Working, bytes: number): void {
    w.unsynced += bytes;
    if (w.unsynced < WRITE_BACK_BYTES || w.syncing) return;
    w.unsynced = 0;
    w.syncing = w.fh.datasync().then(
      () => {
        w.syncing = null;
      },
      () => {
        w.syncing = null; // the fsync at commit reports any error
      },
    );
  }

  private async ensureWorking(): Promise<Working> {
    if (this.working) return this.working;
    const head = this.head();
    if (head.pending) throw ContentUnavailable(this.path);
    const store = this.host.store;
    const dataId = store.allocateDataId();
    if (head.dataId !== null) await store.blobs.clone(head.dataId, dataId);
    else store.blobs.createEmpty(dataId);
    const fh = await store.blobs.openFile(dataId, 'r+');
    this.working = { dataId, fh, size: head.size, dirty: new Set(), hashed: new Map(), run: null, unsynced: 0, syncing: null };
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
    await w.syncing;
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
    const blocks = blockCount(w.size);
    // A run that ends exactly at the end of the file has hashed its last, partial block.
    if (w.run && w.run.filled > 0 && w.run.block * BLOCK_SIZE + w.run.filled === w.size) w.hashed.set(w.run.block, w.run.hash.digest());
    w.run = null;
    for (const [b, h] of w.hashed) {
      if (b >= blocks) continue;
      h.copy(hashes, b * HASH_SIZE);
      w.dirty.delete(b);
    }
    const rehash = [...w.dirty].filter((b) => b < blocks);
    // Blocks past the base's end were never in `base`: hash them too.
    for (let b = Math.floor(base.length / HASH_SIZE); b < blocks; b++) if (!w.dirty.has(b) && !w.hashed.has(b)) rehash.push(b);
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

/**
 * Records a write of `data` at `position`. A run of writes that starts on a block boundary
 * and continues where the last one ended (a file written front to back, as NFS clients do)
 * is hashed as it arrives, so commit need not read it back; anything else marks blocks dirty.
 */
function noteWrite(w: Working, position: number, data: Buffer): void {
  const end = position + data.length;
  const first = Math.floor(position / BLOCK_SIZE);
  const last = Math.floor((end - 1) / BLOCK_SIZE);
  for (let b = first; b <= last; b++) w.hashed.delete(b);
  const run = w.run;
  const continues = run !== null && run.block * BLOCK_SIZE + run.filled === position;
  if (!continues) {
    // Rewriting bytes a run already hashed, or writing elsewhere in its block, ends it.
    if (run && first <= run.block && last >= run.block) w.run = null;
    if (position % BLOCK_SIZE !== 0) {
      markDirty(w.dirty, position, end);
      return;
    }
    w.run = { block: first, filled: 0, hash: createHash('sha256') };
  }
  const r = w.run!;
  let at = 0;
  while (at < data.length) {
    const take = Math.min(BLOCK_SIZE - r.filled, data.length - at);
    r.hash.update(data.subarray(at, at + take));
    r.filled += take;
    at += take;
    w.dirty.add(r.block); // read back at commit only if the run does not cover it after all
    if (r.filled === BLOCK_SIZE) {
      w.hashed.set(r.block, r.hash.digest());
      r.block++;
      r.filled = 0;
      r.hash = createHash('sha256');
    }
  }
}

let zeroBlockHash: Buffer | null = null;

/**
 * [start, end) became a hole (a write or truncate past the end): it reads as zeros. Whole
 * blocks of it get the hash of a zero block, computed once; only the edges are dirty.
 */
function markHole(w: Working, start: number, end: number): void {
  const firstWhole = Math.ceil(start / BLOCK_SIZE);
  const endWhole = Math.floor(end / BLOCK_SIZE);
  if (firstWhole >= endWhole) {
    markDirty(w.dirty, start, end);
    return;
  }
  zeroBlockHash ??= createHash('sha256').update(Buffer.alloc(BLOCK_SIZE)).digest();
  markDirty(w.dirty, start, firstWhole * BLOCK_SIZE);
  for (let b = firstWhole; b < endWhole; b++) {
    w.hashed.set(b, zeroBlockHash);
    w.dirty.delete(b);
  }
  markDirty(w.dirty, endWhole * BLOCK_SIZE, end);
}

function markDirty(dirty: Set<number>, start: number, end: number): void {
  if (end <= start) return;
  for (let b = Math.floor(start / BLOCK_SIZE); b <= Math.floor((end - 1) / BLOCK_SIZE); b++) dirty.add(b);
}
