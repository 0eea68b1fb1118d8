import { close, closeSync, constants, fdatasync, fsync, fsyncSync, mkdirSync, open as openCb, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writev, writevSync } from 'node:fs';
import { copyFile, open, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { BLOCK_SIZE, BlockHasher, HASH_SIZE } from './blocks.js';
import { droppedBuffers } from './buffer-gc.js';
import { native } from './native.js';

/** A body ended before the announced size, or went past it. */
export class SizeMismatch extends Error {
  constructor(readonly expected: number, readonly got: number) {
    super(`body has ${got} bytes, expected ${expected}`);
  }
}

/**
 * Blobs up to this size are resident: they live in their data row, written by the transaction
 * that commits their change, instead of in a file of their own. For a small file that saves a
 * file create, an fsync and a close (about half of a small WebDAV PUT), costs a few more
 * database pages, and the content can never be torn or missing after a crash.
 */
export const RESIDENT_MAX = 16 * 1024;

/** Whether content of this many bytes is resident (RESIDENT_MAX): the one rule every writer follows. */
export function isResidentSize(size: number): boolean {
  return size <= RESIDENT_MAX;
}

/** What reading a blob needs: a file handle, or the same over resident content. */
export interface BlobFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  readv(buffers: Buffer[], position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** What writeStream stored: `resident` holds content small enough for its data row (no file was written). */
export interface WrittenBlob {
  readonly size: number;
  readonly hashes: Buffer;
  readonly resident?: Buffer;
}

const WRITE_BATCH = 1024 * 1024;
/** Bytes written between two early write-backs (fdatasync) of a large blob, so the final fsync only waits for the tail. */
const WRITE_BACK_BYTES = 32 * 1024 * 1024;
const openFd = promisify(openCb);
const writevFd = promisify(writev);
const fdatasyncFd = promisify(fdatasync);
const fsyncFd = promisify(fsync);
const closeFd = promisify(close);
/** Smaller blobs are left in the page cache when they leave the live tree: they free too little to be worth two system calls. */
const DROP_CACHE_MIN = 1024 * 1024;
/** Bodies up to this size are collected and written with a few synchronous calls (far fewer thread-pool hops). */
const SMALL_BODY = 1024 * 1024;

/**
 * Content blobs: one plain file per data id under blobs/<hh>/<id>, or resident content kept in
 * the data row (RESIDENT_MAX). This class only moves bytes; which ids exist is decided by the
 * data table (see Store), which it asks for resident content.
 */
export class BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;
  /** Partial downloads (kept across restarts so a transfer resumes). */
  readonly downloadDir: string;

  constructor(
    dataDir: string,
    /** The resident content of data id `id`, undefined if its blob is a file (or unknown). */
    readonly resident: (id: number) => Buffer | undefined,
  ) {
    this.blobDir = join(dataDir, 'blobs');
    this.tmpDir = join(dataDir, 'tmp');
    for (let i = 0; i < 256; i++) mkdirSync(join(this.blobDir, i.toString(16).padStart(2, '0')), { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
    this.downloadDir = join(dataDir, 'downloads');
    mkdirSync(this.downloadDir, { recursive: true });
  }

  path(id: number): string {
    return join(this.blobDir, (id & 0xff).toString(16).padStart(2, '0'), String(id));
  }

  /**
   * Writes a stream to blob `id`, hashing each block on the way. A body of at most
   * RESIDENT_MAX bytes is returned as `resident` (for the data row) and no file is written;
   * a larger one goes to the blob's file, durable (fsync) before this returns. On any error
   * the partial file is removed.
   */
  async writeStream(id: number, body: AsyncIterable<Buffer>, expectedSize?: number): Promise<WrittenBlob> {
    const hasher = new BlockHasher();
    const iterator = body[Symbol.asyncIterator]();
    // Create the file while the body is on its way (the client's 100-continue round trip),
    // unless the announced size says it will be resident.
    let opening: Promise<number> | null = null;
    const openFile = () => {
      opening ??= openFd(this.path(id), 'w', 0o600);
      opening.catch(() => undefined); // a failure is reported where it is awaited
      return opening;
    };
    if (expectedSize === undefined || !isResidentSize(expectedSize)) openFile();
    const head: Buffer[] = [];
    const take = (chunk: Buffer) => {
      hasher.update(chunk);
      droppedBuffers(chunk.length);
      if (expectedSize !== undefined && hasher.size > expectedSize) throw new SizeMismatch(expectedSize, hasher.size);
    };
    let fd: number | null = null;
    let closed = false;
    let syncing: Promise<void> | null = null;
    try {
      // Collect a small body whole: most files are small, and a few synchronous calls beat the
      // thread-pool round trips of write/fsync/close.
      let ended = false;
      while (hasher.size < SMALL_BODY) {
        const next = await iterator.next();
        if (next.done) {
          ended = true;
          break;
        }
        take(next.value);
        head.push(next.value);
      }
      if (ended && expectedSize !== undefined && hasher.size !== expectedSize) throw new SizeMismatch(expectedSize, hasher.size);
      if (ended && isResidentSize(hasher.size)) {
        if (opening) {
          fd = await opening;
          closed = true;
          closeSync(fd);
          this.remove(id);
        }
        return { size: hasher.size, hashes: hasher.digest(), resident: Buffer.concat(head, hasher.size) };
      }
      fd = await openFile();
      if (ended) {
        writeAllSync(fd, head);
        fsyncSync(fd);
        closed = true;
        closeSync(fd);
        return { size: hasher.size, hashes: hasher.digest() };
      }
      const out = fd;
      // The outstanding write is awaited before the next one; until then a failure (a full
      // disk) must not count as an unhandled rejection, which would end the process.
      const track = (p: Promise<unknown>) => (p.catch(() => undefined), p);
      let inFlight: Promise<unknown> = track(writeAll(out, head));
      let batch: Buffer[] = [];
      let batchBytes = 0;
      let unsynced = 0;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        take(next.value);
        batch.push(next.value);
        batchBytes += next.value.length;
        if (batchBytes >= WRITE_BATCH) {
          await inFlight; // one write outstanding: receiving and hashing overlap with the disk
          inFlight = track(writeAll(out, batch));
          unsynced += batchBytes;
          batch = [];
          batchBytes = 0;
          if (unsynced >= WRITE_BACK_BYTES && !syncing) {
            unsynced = 0;
            // Start write-back of what is written so far; the final fsync still covers everything.
            const done = fdatasyncFd(out).then(
              () => {
                if (syncing === done) syncing = null;
              },
              () => {
                if (syncing === done) syncing = null; // the final fsync reports any error
              },
            );
            syncing = done;
          }
        }
      }
      await inFlight;
      if (batch.length) await writeAll(out, batch);
      if (expectedSize !== undefined && hasher.size !== expectedSize) throw new SizeMismatch(expectedSize, hasher.size);
      await syncing;
      await fsyncFd(out);
      closed = true;
      await closeFd(out);
      return { size: hasher.size, hashes: hasher.digest() };
    } catch (e) {
      await syncing;
      if (!closed) {
        closed = true;
        const open = fd ?? (opening ? await (opening as Promise<number>).catch(() => null) : null);
        if (open !== null) await closeFd(open).catch(() => undefined);
      }
      this.remove(id);
      await iterator.return?.();
      throw e;
    }
  }

  /** Writes a small blob whole and makes it durable before returning. */
  writeSmall(id: number, chunks: Buffer[]): void {
    const fd = openSync(this.path(id), 'w', 0o600);
    try {
      writeAllSync(fd, chunks);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      this.remove(id);
      throw e;
    }
    closeSync(fd);
  }

  /**
   * Writes several small blobs and makes them all durable, their fsyncs running together
   * (the filesystem can then commit them in one journal transaction). All or none.
   * Creating and writing a small file are quick system calls, made here; only the fsyncs go
   * to the thread pool (each hop there costs the main thread more than a small write).
   */
  async writeManyDurable(items: ReadonlyArray<{ id: number; data: Buffer }>): Promise<void> {
    const fds: number[] = [];
    try {
      for (const { id, data } of items) {
        const fd = openSync(this.path(id), 'w', 0o600);
        fds.push(fd);
        writeAllSync(fd, [data]);
      }
      const synced = await Promise.allSettled(fds.map((fd) => fdatasyncFd(fd)));
      for (const r of synced) if (r.status === 'rejected') throw r.reason;
    } catch (e) {
      for (const { id } of items) this.remove(id);
      throw e;
    } finally {
      for (const fd of fds) {
        try {
          closeSync(fd);
        } catch {
          // the blob is removed or durable already; nothing to add
        }
      }
    }
  }

  /** Makes blob `to` (a file) a copy of blob `from`: a copy-on-write clone where the filesystem offers one. */
  async clone(from: number, to: number): Promise<void> {
    await this.cloneTo(from, this.path(to));
  }

  /** Copies blob `from` to a file outside the store (a download's workspace), cloning where possible. */
  async cloneTo(from: number, file: string): Promise<void> {
    const resident = this.resident(from);
    if (resident) await writeFile(file, resident, { mode: 0o600 });
    else await copyFile(this.path(from), file, constants.COPYFILE_FICLONE);
  }

  /** The whole content of a blob (callers keep this to small ones). */
  readAll(id: number): Buffer {
    return this.resident(id) ?? readFileSync(this.path(id));
  }

  /** Opens blob `id` for reading. */
  async openForRead(id: number): Promise<BlobFile> {
    const resident = this.resident(id);
    return resident ? new ResidentFile(resident) : open(this.path(id), 'r');
  }

  /** Creates an empty blob (mode 0600). */
  createEmpty(id: number): void {
    closeSync(openSync(this.path(id), 'w', 0o600));
  }

  /** Opens blob `id` to read and write (creating it empty, mode 0600, if `create`); returns the descriptor. */
  openDescriptor(id: number, create: boolean): number {
    return openSync(this.path(id), create ? 'w+' : 'r+', 0o600);
  }

  /** Hashes the given blocks of a blob by reading them back. */
  async hashBlocks(id: number, size: number, blocks: readonly number[]): Promise<Map<number, Buffer>> {
    const out = new Map<number, Buffer>();
    if (!blocks.length) return out;
    const fh = await open(this.path(id), 'r');
    try {
      const buf = Buffer.allocUnsafe(BLOCK_SIZE);
      for (const b of blocks) {
        const len = Math.min(BLOCK_SIZE, size - b * BLOCK_SIZE);
        if (len <= 0) continue;
        const { bytesRead } = await fh.read(buf, 0, len, b * BLOCK_SIZE);
        const h = new BlockHasher();
        h.update(buf.subarray(0, bytesRead));
        out.set(b, h.digest().subarray(0, HASH_SIZE));
      }
    } finally {
      await fh.close();
    }
    return out;
  }

  remove(id: number): void {
    try {
      unlinkSync(this.path(id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  /**
   * Drops a blob's pages from the page cache: its content has left the live tree (deleted or
   * replaced, kept as history) and is rarely read again. A server that deletes the file gets
   * its pages back at once; without this, history would hold them until memory runs short,
   * and new writes would take fresh pages instead (on a VM that backs guest memory lazily,
   * such as this project's test machines, a fresh page costs ~2.6 ms/MiB of system time).
   * Best effort: a blob already gone, or no native addon, is not an error.
   */
  async dropCached(id: number, size: number): Promise<void> {
    if (!native || size < DROP_CACHE_MIN) return;
    let fd: number | undefined;
    try {
      fd = await openFd(this.path(id), constants.O_RDONLY);
      await native.dropCache(fd);
    } catch {
      // gone, or the kernel refused the hint: either way nothing to undo
    } finally {
      if (fd !== undefined) await closeFd(fd).catch(() => undefined);
    }
  }

  /** Start-up cleanup: deletes blob files no data row names, and everything in tmp/. Returns how many. */
  removeOrphans(isKnown: (id: number) => boolean): number {
    let removed = 0;
    for (const sub of readdirSync(this.blobDir)) {
      const dir = join(this.blobDir, sub);
      for (const name of readdirSync(dir)) {
        const id = Number(name);
        if (!Number.isSafeInteger(id) || !isKnown(id)) {
          rmSync(join(dir, name), { force: true, recursive: true });
          removed++;
        }
      }
    }
    for (const name of readdirSync(this.tmpDir)) {
      rmSync(join(this.tmpDir, name), { force: true, recursive: true });
      removed++;
    }
    return removed;
  }
}

/** Resident content read like a file. */
class ResidentFile implements BlobFile {
  constructor(private readonly content: Buffer) {}

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return { bytesRead: copyOut(this.content, buffer, offset, length, position) };
  }

  async readv(buffers: Buffer[], position: number): Promise<{ bytesRead: number }> {
    let at = position;
    for (const b of buffers) at += copyOut(this.content, b, 0, b.length, at);
    return { bytesRead: at - position };
  }

  async close(): Promise<void> {}
}

/** Copies up to `length` bytes of `content` from `position` into `target` (a pread on a buffer). */
export function copyOut(content: Buffer, target: Buffer, offset: number, length: number, position: number): number {
  if (position >= content.length || length <= 0) return 0;
  return content.copy(target, offset, position, Math.min(position + length, content.length));
}

async function writeAll(fd: number, chunks: Buffer[]): Promise<void> {
  let pending = chunks;
  while (pending.length) pending = dropBytes(pending, (await writevFd(fd, pending)).bytesWritten);
}

/** writeAll on the calling thread (small writes: cheaper than a thread-pool hop). */
function writeAllSync(fd: number, chunks: Buffer[]): void {
  for (let pending = chunks; pending.length; ) pending = dropBytes(pending, writevSync(fd, pending));
}

/** The buffers left once the first `n` bytes of `chunks` are written (after a short writev). */
function dropBytes(chunks: Buffer[], n: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const c of chunks) {
    if (n >= c.length) n -= c.length;
    else {
      rest.push(n ? c.subarray(n) : c);
      n = 0;
    }
  }
  return rest;
}
