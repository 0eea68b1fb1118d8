import { closeSync, createReadStream, read, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { copyOut } from '../core/blobs.js';
import type { Entry, ReadHandle } from './types.js';

const READ_HIGH_WATER = 1024 * 1024;
/** Reads up to this size are synchronous (see BlobReader). */
const SYNC_READ = 128 * 1024;

/**
 * An open blob. Reads up to SYNC_READ bytes are plain synchronous pread(2)s: on a cached
 * file they take microseconds, far less than a thread-pool round trip; larger reads and
 * streams go through the thread pool.
 */
export class BlobReader implements ReadHandle {
  private closed = false;
  private readonly streams = new Set<Readable>();

  constructor(
    readonly entry: Entry,
    readonly fd: number,
    private readonly onClose: () => void,
  ) {}

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    if (this.closed) throw new Error('read handle used after close()');
    if (length <= SYNC_READ) return readSync(this.fd, buffer, offset, length, position);
    return readFd(this.fd, buffer, offset, length, position);
  }

  stream(start = 0, endInclusive?: number): Readable {
    const s = createReadStream('', { fd: this.fd, start, end: endInclusive, autoClose: false, highWaterMark: READ_HIGH_WATER });
    this.streams.add(s);
    s.once('end', () => this.streams.delete(s));
    return s;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A stream still running may have a read in flight on the descriptor: close it only after.
    for (const s of this.streams) {
      const gone = new Promise<void>((resolve) => s.once('close', resolve));
      if (!s.closed) {
        s.destroy();
        await gone;
      }
    }
    this.streams.clear();
    try {
      closeSync(this.fd);
    } finally {
      this.onClose();
    }
  }
}

function readFd(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

/** Resident content (a small file kept in its data row): reads copy from memory, no hold needed. */
export class ResidentReader implements ReadHandle {
  constructor(
    readonly entry: Entry,
    private readonly content: Buffer,
  ) {}

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return copyOut(this.content, buffer, offset, length, position);
  }

  stream(start = 0, endInclusive?: number): Readable {
    return Readable.from([this.content.subarray(start, endInclusive === undefined ? undefined : endInclusive + 1)], { objectMode: false });
  }

  async close(): Promise<void> {}
}
