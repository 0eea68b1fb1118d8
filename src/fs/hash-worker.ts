import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { BLOCK_SIZE, HASH_SIZE } from '../core/blocks.js';

/**
 * Worker side of {@link HashPool}: reads whole blocks back from a descriptor the main
 * thread keeps open (threads share the descriptor table) and answers their SHA-256s.
 */
export interface HashJob {
  id: number;
  fd: number;
  /** byte offset of the first block (a multiple of BLOCK_SIZE) */
  offset: number;
  blocks: number;
}

export type HashAnswer = { id: number; hashes: Uint8Array } | { id: number; error: string };

let buf = Buffer.allocUnsafe(0);

function hashRange(job: HashJob): Buffer {
  const length = job.blocks * BLOCK_SIZE;
  if (buf.length < length) buf = Buffer.allocUnsafe(length);
  let n = 0;
  while (n < length) {
    const r = readSync(job.fd, buf, n, length - n, job.offset + n);
    if (r === 0) throw new Error(`short read at ${job.offset + n}: the blocks are not all written`);
    n += r;
  }
  const out = Buffer.allocUnsafe(job.blocks * HASH_SIZE);
  for (let i = 0; i < job.blocks; i++) createHash('sha256').update(buf.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE)).digest().copy(out, i * HASH_SIZE);
  return out;
}

parentPort?.on('message', (job: HashJob) => {
  let answer: HashAnswer;
  try {
    answer = { id: job.id, hashes: hashRange(job) };
  } catch (e) {
    answer = { id: job.id, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort!.postMessage(answer);
});
