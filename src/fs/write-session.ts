import { createHash, type Hash } from 'node:crypto';
import { close, closeSync, fdatasync, fsync, ftruncate, readSync, write as writeCb, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { isResidentSize, RESIDENT_MAX } from '../core/blobs.js';
import { BLOCK_SIZE, BlockHasher, blockCount, changedBlocks, HASH_SIZE } from '../core/blocks.js';
import type { Head, NewContent } from '../core/model.js';
import { nowNs } from '../core/model.js';
import type { Store } from '../core/store.js';
import { ContentUnavailable, fromSystemError, NotFound } from './errors.js';
import { hashPool } from './hash-pool.js';
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

/** Bytes written between two early write-backs (fdatasync) of a working copy. */
const WRITE_BACK_BYTES = 32 * 1024 * 1024;
/** Writes up to this size are written at once (a pwrite into the page cache); larger ones through the thread pool. */
const SYNC_WRITE = 1024 * 1024;

const writeFd = promisify(writeCb);
const fsyncFd = promisify(fsync);
const fdatasyncFd = promisify(fdatasync);
const ftruncateFd = promisify(ftruncate);
const closeFd = promisify(close);

interface Working {
  /**
   * The content itself while the file stays small enough to be resident (RESIDENT_MAX): no
   * blob file until a write or truncate takes it past that (spill), dataId 0 and fd -1 till
   * then. Bytes of it past `size` are zero.
   */
  mem: Buffer | null;
  dataId: number;
  fd: number;
  size: number;
  /** blocks whose hash must be read back at commit */
  dirty: Set<number>;
  /** blocks whose final hash is already known: filled by one sequential run, or all zeros */
  hashed: Map<number, Buffer>;
  /** whole blocks being hashed on the worker (undefined if that failed: then they are read back) */
  hashing: Map<number, Promise<Buffer | undefined>>;
  /** the block a sequential run of writes is filling, hashed as it arrives */
  run: { block: number; filled: number; hash: Hash | null } | null;
  /** writes issued to the working copy, in order; never rejects (see `failed`) */
  io: Promise<void>;
  /** the first write that failed: the uncommitted writes are dropped and flush reports it */
  failed: unknown;
  /** bytes written since the last early write-back, and that write-back */
  unsynced: number;
  syncing: Promise<void> | null;
}

/**
 * Random-access writes to one file, collected in a working copy (a clone of the current
 * blob) and committed as one change on flush, close, or after `idleMs` without writes.
 * Only blocks whose hash differs from the version it replaces are recorded as written.
 *
 * When write() resolves its bytes are in the working copy (large ones written through the
 * thread pool) and the caller may reuse `data`; whole blocks are hashed on a worker after.
 * flush()/close() wait for all of it; if a write failed, they drop the uncommitted writes
 * (the file stays at its last committed version) and throw.
 */
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
      if (w.failed) throw w.failed;
      // Writing no bytes changes nothing, past the end included (as pwrite(2)): no hole to mark.
      if (data.length === 0) return;
      const end = position + data.length;
      if (w.mem && !isResidentSize(end)) this.spill(w);
      let written: Promise<void> | undefined;
      if (w.mem) {
        w.mem = room(w.mem, end);
        data.copy(w.mem, position);
        w.size = Math.max(w.size, end);
      } else {
        if (position > w.size) markHole(w, w.size, position);
        const whole = noteWrite(w, position, data);
        w.size = Math.max(w.size, end);
        if (data.length <= SYNC_WRITE) {
          this.writeNow(w, position, data);
          if (whole) this.hashWhole(w, whole, Promise.resolve(true));
        } else written = this.queue(w, position, data, whole);
        this.writeBack(w, data.length);
      }
      this.armIdle();
      // `data` is not kept past this call: the caller may reuse it (an NFS request buffer).
      await written;
    });
  }

  truncate(size: number): Promise<void> {
    return this.serial(async () => {
      const w = await this.settled();
      if (w.mem && !isResidentSize(size)) this.spill(w);
      if (w.mem) {
        if (size < w.size) w.mem.fill(0, size, w.size);
        else w.mem = room(w.mem, size);
        w.size = size;
        this.armIdle();
        return;
      }
      await ftruncateFd(w.fd, size);
      if (size > w.size) markHole(w, w.size, size);
      else {
        for (const b of [...w.hashed.keys(), ...w.hashing.keys()]) if (b * BLOCK_SIZE + BLOCK_SIZE > size) forget(w, b);
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
      if (this.working) await this.discard(this.working);
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

  /** A write of up to SYNC_WRITE bytes: one pwrite into the page cache, now. */
  private writeNow(w: Working, position: number, data: Buffer): void {
    try {
      for (let done = 0; done < data.length; ) done += writeSync(w.fd, data, done, data.length - done, position + done);
    } catch (e) {
      w.failed = e;
      throw e;
    }
  }

  /**
   * Queues a write behind the others, then has the whole blocks it filled, if any, hashed
   * on the worker. Resolves once `data` is written (or the write failed: see `failed`).
   */
  private queue(w: Working, position: number, data: Buffer, whole: { first: number; count: number } | null): Promise<void> {
    const written = w.io.then(async () => {
      try {
        if (w.failed) return false;
        for (let done = 0; done < data.length; ) done += (await writeFd(w.fd, data, done, data.length - done, position + done)).bytesWritten;
        return true;
      } catch (e) {
        w.failed ??= e;
        return false;
      }
    });
    w.io = written.then(() => undefined);
    if (whole) this.hashWhole(w, whole, written);
    return w.io;
  }

  /** Has blocks a write fills whole hashed on the worker once the write has landed (`written` true). */
  private hashWhole(w: Working, whole: { first: number; count: number }, written: Promise<boolean>): void {
    const hashes = written.then((ok) => (ok ? hashPool.hash(w.fd, whole.first * BLOCK_SIZE, whole.count) : undefined)).catch(() => undefined);
    for (let i = 0; i < whole.count; i++) w.hashing.set(whole.first + i, hashes.then((h) => h?.[i]));
  }

  /** The working copy with every queued write and hash done; throws (dropping it) if a write failed. */
  private async settled(): Promise<Working> {
    const w = this.working ?? (await this.ensureWorking());
    await w.io;
    for (const [b, h] of w.hashing) {
      const hash = await h;
      if (w.hashing.get(b) !== h) continue;
      w.hashing.delete(b);
      if (hash) w.hashed.set(b, hash);
    }
    if (w.failed) {
      await this.discard(w);
      throw w.failed;
    }
    return w;
  }

  private async discard(w: Working): Promise<void> {
    if (w.mem) {
      if (this.working === w) this.working = null;
      return;
    }
    await w.io;
    await Promise.all(w.hashing.values());
    await w.syncing;
    if (this.working === w) this.working = null;
    await closeFd(w.fd).catch(() => undefined);
    this.host.store.discardBlob(w.dataId);
  }

  /**
   * Starts write-back of what was written so far once enough has piled up, so the fsync at
   * commit only waits for the tail. One at a time; never awaited by writes.
   */
  private writeBack(w: Working, bytes: number): void {
    w.unsynced += bytes;
    if (w.unsynced < WRITE_BACK_BYTES || w.syncing) return;
    w.unsynced = 0;
    w.syncing = w.io
      .then(() => fdatasyncFd(w.fd))
      .then(
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
    if (isResidentSize(head.size)) {
      // Copied, not shared: the blob's own buffer must not change under its other readers.
      const mem = head.dataId !== null && head.size > 0 ? Buffer.from(store.blobs.readAll(head.dataId).subarray(0, head.size)) : Buffer.alloc(0);
      this.working = newWorking({ mem, dataId: 0, fd: -1, size: head.size });
      return this.working;
    }
    const dataId = store.allocateDataId();
    // An empty file needs no copy: a new blob is all it takes.
    const clone = head.dataId !== null && head.size > 0;
    let fd: number;
    try {
      if (clone) await store.blobs.clone(head.dataId!, dataId);
      fd = store.blobs.openDescriptor(dataId, !clone);
    } catch (e) {
      store.discardBlob(dataId);
      throw e;
    }
    this.working = newWorking({ mem: null, dataId, fd, size: head.size });
    return this.working;
  }

  /**
   * The small working copy outgrows memory: it becomes a blob file like any other. Every block
   * of it is marked dirty, to be hashed at commit (at most the few blocks RESIDENT_MAX spans).
   */
  private spill(w: Working): void {
    const store = this.host.store;
    const dataId = store.allocateDataId();
    let fd = -1;
    try {
      fd = store.blobs.openDescriptor(dataId, true);
      for (let done = 0; done < w.size; ) done += writeSync(fd, w.mem!, done, w.size - done, done);
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      store.discardBlob(dataId);
      throw e;
    }
    markDirty(w.dirty, 0, w.size);
    w.mem = null;
    w.dataId = dataId;
    w.fd = fd;
  }

  private head(): Head {
    const head = this.host.currentHead(this.key);
    if (!head) throw NotFound(this.path);
    return head;
  }

  private async commitWorking(): Promise<Entry> {
    if (!this.working) return this.host.entryOf(this.head());
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const w = await this.settled();
    const store = this.host.store;
    if (w.mem) return this.commitMemory(w);
    await w.syncing;
    let resident: Buffer | undefined;
    try {
      // A small result is resident (RESIDENT_MAX): read back from the page cache, committed
      // with its change, no fsync; its working file goes.
      if (isResidentSize(w.size)) resident = readWhole(w.fd, w.size);
      else await fsyncFd(w.fd);
    } catch (e) {
      // After a failed fsync the kernel may have dropped the pages: the copy cannot be trusted.
      await this.discard(w);
      throw e;
    }
    this.working = null;
    closeSync(w.fd);
    if (resident) store.blobs.remove(w.dataId);
    // Rebase onto whatever is current now: a write that landed meanwhile stays in history.
    const head = this.host.currentHead(this.key);
    if (!head) {
      store.discardBlob(w.dataId);
      throw NotFound(this.path);
    }
    if (resident) return this.commitResident(head, w.dataId, resident);
    const base = this.host.contentHashes(head);
    const hashes = Buffer.alloc(blockCount(w.size) * HASH_SIZE);
    base.copy(hashes, 0, 0, Math.min(base.length, hashes.length));
    const blocks = blockCount(w.size);
    // A run that ends exactly at the end of the file has hashed its last, partial block.
    if (w.run?.hash && w.run.filled > 0 && w.run.block * BLOCK_SIZE + w.run.filled === w.size) w.hashed.set(w.run.block, w.run.hash.digest());
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
    return this.commitContent(head, { dataId: w.dataId, size: w.size, hashes, touched });
  }

  private commitMemory(w: Working): Entry {
    this.working = null;
    const head = this.head();
    const content = w.mem!.length === w.size ? w.mem! : Buffer.from(w.mem!.subarray(0, w.size));
    return this.commitResident(head, this.host.store.allocateDataId(), content);
  }

  private commitResident(head: Head, dataId: number, resident: Buffer): Entry {
    const hasher = new BlockHasher();
    hasher.update(resident);
    const hashes = hasher.digest();
    const touched = changedBlocks(this.host.contentHashes(head), hashes);
    if (!touched.length && resident.length === head.size) return this.host.entryOf(head);
    return this.commitContent(head, { dataId, size: resident.length, hashes, touched, resident });
  }

  private commitContent(head: Head, content: NewContent): Entry {
    const store = this.host.store;
    try {
      const [next] = store.commit([{ kind: 'write', head, meta: { ...head, size: content.size, mtimeNs: nowNs() }, content }]);
      return this.host.entryOf(next!);
    } catch (e) {
      store.discardBlob(content.dataId);
      throw e;
    }
  }
}

function newWorking(start: Pick<Working, 'mem' | 'dataId' | 'fd' | 'size'>): Working {
  return {
    ...start,
    dirty: new Set(),
    hashed: new Map(),
    hashing: new Map(),
    run: null,
    io: Promise.resolve(),
    failed: undefined,
    unsynced: 0,
    syncing: null,
  };
}

/** `mem`, or a copy of it with room for `size` bytes (doubling, up to RESIDENT_MAX), the rest zeros. */
function room(mem: Buffer, size: number): Buffer {
  if (size <= mem.length) return mem;
  const grown = Buffer.alloc(Math.min(RESIDENT_MAX, Math.max(size, mem.length * 2, 4096)));
  mem.copy(grown);
  return grown;
}

/** The first `size` bytes of a file, read synchronously (a small file, in the page cache). */
function readWhole(fd: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (let got = 0; got < size; ) {
    const n = readSync(fd, buf, got, size - got, got);
    if (n === 0) throw new Error(`working copy ended after ${got} of ${size} bytes`);
    got += n;
  }
  return buf;
}

/**
 * Records a write of `data` at `position`. A run of writes that starts on a block boundary
 * and continues where the last one ended (a file written front to back, as NFS clients do)
 * is hashed as it arrives, so commit need not read it back; anything else marks blocks dirty.
 * Returns the blocks the write fills whole from a block boundary: those are left to the
 * worker (see queue); the run hashes only the pieces of blocks, on this thread.
 */
function noteWrite(w: Working, position: number, data: Buffer): { first: number; count: number } | null {
  const end = position + data.length;
  const first = Math.floor(position / BLOCK_SIZE);
  const last = Math.floor((end - 1) / BLOCK_SIZE);
  for (let b = first; b <= last; b++) forget(w, b);
  const run = w.run;
  const continues = run !== null && run.block * BLOCK_SIZE + run.filled === position;
  if (!continues) {
    // Rewriting bytes a run already hashed, or writing elsewhere in its block, ends it.
    if (run && first <= run.block && last >= run.block) w.run = null;
    if (position % BLOCK_SIZE !== 0) {
      markDirty(w.dirty, position, end);
      return null;
    }
    w.run = { block: first, filled: 0, hash: null };
  }
  const r = w.run!;
  let whole: { first: number; count: number } | null = null;
  let at = 0;
  while (at < data.length) {
    const take = Math.min(BLOCK_SIZE - r.filled, data.length - at);
    w.dirty.add(r.block); // read back at commit only if the run does not cover it after all
    if (take === BLOCK_SIZE) {
      if (whole) whole.count++;
      else whole = { first: r.block, count: 1 };
    } else {
      r.hash ??= createHash('sha256');
      r.hash.update(data.subarray(at, at + take));
      r.filled += take;
    }
    at += take;
    if (take === BLOCK_SIZE || r.filled === BLOCK_SIZE) {
      if (r.hash && r.filled === BLOCK_SIZE) w.hashed.set(r.block, r.hash.digest());
      r.block++;
      r.filled = 0;
      r.hash = null;
    }
  }
  return whole;
}

/** Block `b` changes: any hash known or on its way for it no longer holds. */
function forget(w: Working, b: number): void {
  w.hashed.delete(b);
  w.hashing.delete(b);
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
    w.hashing.delete(b);
    w.hashed.set(b, zeroBlockHash);
    w.dirty.delete(b);
  }
  markDirty(w.dirty, endWhole * BLOCK_SIZE, end);
}

function markDirty(dirty: Set<number>, start: number, end: number): void {
  if (end <= start) return;
  for (let b = Math.floor(start / BLOCK_SIZE); b <= Math.floor((end - 1) / BLOCK_SIZE); b++) dirty.add(b);
}
