import { createHash, type Hash } from 'node:crypto';

/** Content is seen in fixed-size blocks; each blob keeps the SHA-256 of each block. */
export const BLOCK_SIZE = 128 * 1024;
export const HASH_SIZE = 32;

export function blockCount(size: number): number {
  return Math.ceil(size / BLOCK_SIZE);
}

export function hashOf(hashes: Buffer, index: number): Buffer {
  return hashes.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
}

/** Hashes a byte stream block by block as it passes, without keeping it. */
export class BlockHasher {
  private current: Hash | null = null;
  private filled = 0;
  private readonly done: Buffer[] = [];
  private total = 0;

  update(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (!this.current) this.current = createHash('sha256');
      const take = Math.min(BLOCK_SIZE - this.filled, chunk.length - at);
      this.current.update(chunk.subarray(at, at + take));
      this.filled += take;
      at += take;
      if (this.filled === BLOCK_SIZE) this.endBlock();
    }
    this.total += chunk.length;
  }

  get size(): number {
    return this.total;
  }

  /** All block hashes, concatenated. */
  digest(): Buffer {
    if (this.current) this.endBlock();
    return Buffer.concat(this.done);
  }

  private endBlock(): void {
    this.done.push(this.current!.digest());
    this.current = null;
    this.filled = 0;
  }
}

export interface Range {
  readonly offset: number;
  readonly length: number;
}

/** Block indices whose hash differs between two versions (or that exist only in the new one). */
export function changedBlocks(oldHashes: Buffer, newHashes: Buffer): number[] {
  const n = newHashes.length / HASH_SIZE;
  const oldN = oldHashes.length / HASH_SIZE;
  const changed: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i >= oldN || !hashOf(oldHashes, i).equals(hashOf(newHashes, i))) changed.push(i);
  }
  return changed;
}

/** Merges sorted block indices into byte ranges, clipped to the file size. */
export function blocksToRanges(blocks: readonly number[], size: number): Range[] {
  const ranges: Range[] = [];
  for (const b of blocks) {
    const offset = b * BLOCK_SIZE;
    const end = Math.min(size, offset + BLOCK_SIZE);
    const last = ranges[ranges.length - 1];
    if (last && last.offset + last.length === offset) ranges[ranges.length - 1] = { offset: last.offset, length: end - last.offset };
    else ranges.push({ offset, length: end - offset });
  }
  return ranges;
}

/** The (index, hash) entries of the given blocks, packed as a change records them. */
export function packBlockHashes(blocks: readonly number[], hashes: Buffer): Buffer {
  const out = Buffer.alloc(blocks.length * (4 + HASH_SIZE));
  blocks.forEach((b, i) => {
    const at = i * (4 + HASH_SIZE);
    out.writeUInt32BE(b, at);
    hashOf(hashes, b).copy(out, at + 4);
  });
  return out;
}
