import { createHash } from 'node:crypto';
import { NFS3_FHSIZE } from './constants.js';
import { badHandle } from './errors.js';

/**
 * File handles: an Entry.key (a node id such as `<uuid>:<n>`, `root`, `h:<node>`,
 * `v:<change>`, `s:<uuid>:<node>`) in at most 64 bytes, stable across restarts and
 * renames because keys are, and never reused because node and change ids are not.
 *
 * Format 1 (every key the view makes today): byte 0 = 1, then the key's ASCII bytes
 * with each lowercase UUID packed as 0x01 + its 16 bytes. The longest key,
 * `s:<uuid>:<uuid>:<counter>`, packs to at most 55 bytes. Decoding needs no state.
 *
 * Format 2 (a key that does not pack into 64 bytes): byte 0 = 2, then the SHA-256 of
 * the key; the key is looked up in a table the caller persists ({@link HandleCodec}).
 * SHA-256 rather than a counter keeps handles identical however often and in
 * whatever order the table is rebuilt, and never reuses one for another key.
 */
export const FH_VERSION_PACKED = 1;
export const FH_VERSION_HASHED = 2;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const UUID_MARK = 0x01;
const PRINTABLE = /^[\x20-\x7e]*$/;

/** Packs a key into a format-1 handle, or returns null when it does not fit. */
export function packKey(key: string): Buffer | null {
  if (!PRINTABLE.test(key)) return null;
  const parts: Buffer[] = [Buffer.of(FH_VERSION_PACKED)];
  let at = 0;
  for (const m of key.matchAll(UUID)) {
    parts.push(Buffer.from(key.slice(at, m.index), 'latin1'), Buffer.of(UUID_MARK), Buffer.from(m[0].replace(/-/g, ''), 'hex'));
    at = m.index + m[0].length;
  }
  parts.push(Buffer.from(key.slice(at), 'latin1'));
  const fh = Buffer.concat(parts);
  return fh.length <= NFS3_FHSIZE ? fh : null;
}

/** Unpacks a format-1 handle. @throws NfsError BADHANDLE when the bytes cannot be one. */
export function unpackKey(fh: Buffer): string {
  if (fh.length < 2 || fh[0] !== FH_VERSION_PACKED) throw badHandle('not a packed handle');
  let out = '';
  for (let i = 1; i < fh.length; ) {
    const b = fh[i]!;
    if (b === UUID_MARK) {
      if (i + 17 > fh.length) throw badHandle('truncated id');
      const h = fh.toString('hex', i + 1, i + 17);
      out += `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      i += 17;
    } else if (b >= 0x20 && b <= 0x7e) {
      out += String.fromCharCode(b);
      i++;
    } else throw badHandle(`byte ${b} at ${i}`);
  }
  return out;
}

export function hashedHandle(key: string): Buffer {
  return Buffer.concat([Buffer.of(FH_VERSION_HASHED), createHash('sha256').update(key).digest()]);
}

/** The fixed fileid of the export root; every other is derived from its key. */
export const ROOT_FILEID = 1n;

/** A stable 64-bit fileid: the first 8 bytes of SHA-256(key); never 0 or the root's. */
export function fileIdOf(key: string): bigint {
  if (key === 'root') return ROOT_FILEID;
  let id = fileIds.get(key);
  if (id === undefined) {
    id = createHash('sha256').update(key).digest().readBigUInt64BE(0);
    if (id <= ROOT_FILEID) id += 2n;
    if (fileIds.size >= 50_000) fileIds.clear();
    fileIds.set(key, id);
  }
  return id;
}

/** fileIdOf is asked for every attribute reply: remembered, not rehashed (bounded). */
const fileIds = new Map<string, bigint>();

/** Where format-2 keys are kept (the server stores them as dead properties of the root). */
export interface HandleTable {
  load(hash: string): Promise<string | undefined>;
  save(hash: string, key: string): Promise<void>;
}

/** Encodes keys to handles and back, keeping format-2 keys in a persistent table. */
export class HandleCodec {
  private readonly hashed = new Map<string, string>();

  constructor(private readonly table: HandleTable) {}

  /** key -> its format-1 handle, so a listing does not repack every name (bounded; handles are only read) */
  private readonly packed = new Map<string, Buffer>();

  /** The handle of `key`. The buffer may be shared: callers must not modify it. */
  async encode(key: string): Promise<Buffer> {
    const have = this.packed.get(key);
    if (have) return have;
    const packed = packKey(key);
    if (packed) {
      if (this.packed.size >= 50_000) this.packed.clear();
      this.packed.set(key, packed);
      return packed;
    }
    const fh = hashedHandle(key);
    const hex = fh.toString('hex', 1);
    if (this.hashed.get(hex) !== key) {
      await this.table.save(hex, key);
      this.hashed.set(hex, key);
    }
    return fh;
  }

  /** The key a handle names. @throws NfsError BADHANDLE (malformed) or STALE (format 2, unknown). */
  async decode(fh: Buffer): Promise<string> {
    if (fh.length === 0 || fh.length > NFS3_FHSIZE) throw badHandle(`length ${fh.length}`);
    if (fh[0] === FH_VERSION_PACKED) return unpackKey(fh);
    if (fh[0] === FH_VERSION_HASHED && fh.length === 33) {
      const hex = fh.toString('hex', 1);
      const known = this.hashed.get(hex) ?? (await this.table.load(hex));
      if (known === undefined) return `?unknown:${hex}`; // resolves to nothing: STALE
      this.hashed.set(hex, known);
      return known;
    }
    throw badHandle(`version ${fh[0]}`);
  }
}
