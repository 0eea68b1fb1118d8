import { Worker } from 'node:worker_threads';
import { HASH_SIZE } from '../core/blocks.js';
import type { HashAnswer, HashJob } from './hash-worker.js';

/**
 * Hashes whole blocks of an open file on a worker thread, so a large upload is hashed
 * while the main thread keeps receiving (SHA-256 of 1 MiB costs ~0.7 ms of CPU).
 *
 * Contract: {@link hash} resolves with the blocks' hashes (HASH_SIZE bytes each, in
 * order) as the file reads when the worker gets to them; the caller keeps `fd` open
 * until the promise settles and discards a result whose blocks were rewritten
 * meanwhile. It rejects if the read fails or the worker dies; callers then hash
 * another way. One worker, started on first use, never keeps the process alive.
 */
export class HashPool {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (h: Buffer[]) => void; reject: (e: Error) => void; blocks: number }>();

  hash(fd: number, offset: number, blocks: number): Promise<Buffer[]> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, blocks });
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage({ id, fd, offset, blocks } satisfies HashJob);
    });
  }

  private start(): Worker {
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (a: HashAnswer) => {
      const w = this.waiting.get(a.id);
      if (!w) return;
      this.waiting.delete(a.id);
      if (this.waiting.size === 0) worker.unref();
      if ('error' in a) return w.reject(new Error(`block hashing: ${a.error}`));
      const all = Buffer.from(a.hashes.buffer, a.hashes.byteOffset, a.hashes.byteLength);
      w.resolve(Array.from({ length: w.blocks }, (_, i) => all.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)));
    });
    const fail = (e: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`block hashing worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

/** The pool every write session shares. */
export const hashPool = new HashPool();
