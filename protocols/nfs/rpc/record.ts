import { XdrError } from '../xdr/errors.js';
import { XdrWriter } from '../xdr/writer.js';
import type { RecordBuffers } from './record-buffers.js';

/** Bit 31 of a record-marking header: this fragment ends the record (RFC 5531 §11). */
const LAST_FRAGMENT = 0x8000_0000;
/** Largest fragment length a header can carry (31 bits). */
export const MAX_FRAGMENT_LENGTH = 0x7fff_ffff;

export type RecordErrorCode =
  /** the fragments of one record add up to more than maxRecordSize */
  | 'RPC_RECORD_TOO_LARGE'
  /** one record is split into more than maxFragments fragments */
  | 'RPC_TOO_MANY_FRAGMENTS'
  /** push() after the decoder already failed */
  | 'RPC_DECODER_FAILED';

/** A record-marking violation. The connection cannot be resynchronised: close it. */
export class RecordError extends Error {
  constructor(
    readonly code: RecordErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'RecordError';
  }
}

export interface RecordDecoderOptions {
  /** Largest record (sum of fragment payloads) accepted, in bytes. */
  maxRecordSize: number;
  /** Most fragments one record may have (default 1024); bounds per-record bookkeeping. */
  maxFragments?: number;
  /** Where large fragments are assembled (default: a fresh buffer for each). */
  buffers?: RecordBuffers;
}

/** Fragments at least this long are assembled in one buffer of their own, which a reader may fill directly. */
export const LARGE_FRAGMENT = 64 * 1024;

/**
 * Streaming decoder for ONC RPC record marking over TCP (RFC 5531 §11): turns
 * arbitrary byte chunks into complete records, joining multi-fragment records.
 *
 * Contract:
 * - {@link push} returns the records completed by this chunk, in order (often
 *   none). A record is returned as a view of the chunk when it lies wholly
 *   inside one fragment of one chunk that is not `reused`; as the buffer it was
 *   assembled in when it is one large fragment (LARGE_FRAGMENT bytes or more:
 *   from `buffers` when given, so give it back there once done with it);
 *   otherwise as a fresh Buffer. The decoder keeps no reference to returned records.
 * - A large fragment's buffer is allocated when its header arrives; a reader may
 *   then receive the fragment's bytes straight into {@link readTarget} and report
 *   them with {@link filled} instead of pushing a copy.
 * - Each fragment header is checked against `maxRecordSize` (minus what the
 *   record already holds) the moment its 4 bytes arrive, before any payload is
 *   buffered, so memory held by the decoder never exceeds maxRecordSize + 4.
 * - On a violation push() throws {@link RecordError}; records completed earlier
 *   in the same chunk are lost with it and the decoder stays failed. The byte
 *   stream cannot be resynchronised, so the caller closes the connection.
 */
export class RecordDecoder {
  private readonly maxRecordSize: number;
  private readonly maxFragments: number;
  private readonly buffers: RecordBuffers | undefined;
  private readonly header = Buffer.alloc(4);
  private headerFill = 0;
  private inFragment = false;
  private fragmentLeft = 0;
  private fragmentIsLast = false;
  private fragments = 0;
  private pieces: Buffer[] = [];
  /** the large fragment being received, and how much of it has arrived */
  private large: Buffer | null = null;
  private largeFill = 0;
  private recordBytes = 0;
  private failed: RecordError | undefined;

  constructor(options: RecordDecoderOptions) {
    if (!Number.isInteger(options.maxRecordSize) || options.maxRecordSize < 0) {
      throw new RangeError(`RecordDecoder: bad maxRecordSize ${options.maxRecordSize}`);
    }
    this.maxRecordSize = options.maxRecordSize;
    this.maxFragments = options.maxFragments ?? 1024;
    this.buffers = options.buffers;
  }

  /** Payload bytes held for the record in progress. */
  get bufferedBytes(): number {
    return this.recordBytes;
  }

  /** True between the first byte of a record and its end: an EOF now truncates a record. */
  get midRecord(): boolean {
    return this.headerFill > 0 || this.inFragment || this.fragments > 0;
  }

  /**
   * Decodes `chunk`. A `reused` chunk will be overwritten once push() returns: what the
   * decoder keeps of it, and the records it returns, are copies.
   * @throws RecordError (see the class contract).
   */
  push(chunk: Buffer, reused = false): Buffer[] {
    this.checkNotFailed();
    const out: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (!this.inFragment) {
        const take = Math.min(4 - this.headerFill, chunk.length - i);
        chunk.copy(this.header, this.headerFill, i, i + take);
        this.headerFill += take;
        i += take;
        if (this.headerFill < 4) break;
        this.headerFill = 0;
        this.startFragment(this.header.readUInt32BE(0));
      }
      const take = Math.min(this.fragmentLeft, chunk.length - i);
      if (take > 0) {
        if (this.large) {
          chunk.copy(this.large, this.largeFill, i, i + take);
          this.largeFill += take;
        } else {
          const piece = chunk.subarray(i, i + take);
          this.pieces.push(reused ? Buffer.from(piece) : piece);
        }
        this.recordBytes += take;
        this.fragmentLeft -= take;
        i += take;
      }
      if (this.fragmentLeft > 0) break;
      const record = this.endFragment();
      if (record) out.push(record);
    }
    return out;
  }

  /**
   * Where the rest of the large fragment in progress goes, if one is: exactly the bytes
   * still missing, so a read into it cannot run into the next fragment. Null otherwise.
   */
  readTarget(): Buffer | null {
    return this.large && this.fragmentLeft > 0 ? this.large.subarray(this.largeFill) : null;
  }

  /** `n` bytes were received into {@link readTarget}; returns the record they complete, if any. */
  filled(n: number): Buffer[] {
    this.checkNotFailed();
    if (!this.large || !Number.isInteger(n) || n < 0 || n > this.fragmentLeft) throw new RangeError(`RecordDecoder: ${n} bytes filled, ${this.large ? this.fragmentLeft : 0} expected at most`);
    this.largeFill += n;
    this.recordBytes += n;
    this.fragmentLeft -= n;
    if (this.fragmentLeft > 0) return [];
    const record = this.endFragment();
    return record ? [record] : [];
  }

  private checkNotFailed(): void {
    if (this.failed) throw new RecordError('RPC_DECODER_FAILED', `decoder already failed: ${this.failed.message}`);
  }

  private startFragment(word: number): void {
    const length = word & MAX_FRAGMENT_LENGTH;
    this.fragments++;
    if (length > this.maxRecordSize - this.recordBytes) {
      this.fail('RPC_RECORD_TOO_LARGE', `record of at least ${this.recordBytes + length} bytes exceeds the limit of ${this.maxRecordSize}`);
    }
    if (this.fragments > this.maxFragments) {
      this.fail('RPC_TOO_MANY_FRAGMENTS', `record has more than ${this.maxFragments} fragments`);
    }
    this.inFragment = true;
    this.fragmentLeft = length;
    this.fragmentIsLast = (word & LAST_FRAGMENT) !== 0;
    if (length >= LARGE_FRAGMENT) {
      this.large = this.buffers && length <= this.buffers.slabSize ? this.buffers.take(length) : Buffer.allocUnsafeSlow(length);
      this.largeFill = 0;
    }
  }

  /** The fragment in progress is complete; returns the record if it was the last fragment. */
  private endFragment(): Buffer | undefined {
    this.inFragment = false;
    if (this.large) {
      this.pieces.push(this.large);
      this.large = null;
    }
    return this.fragmentIsLast ? this.takeRecord() : undefined;
  }

  private takeRecord(): Buffer {
    const pieces = this.pieces;
    const record = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, this.recordBytes);
    if (pieces.length > 1) for (const piece of pieces) this.buffers?.give(piece);
    this.pieces = [];
    this.recordBytes = 0;
    this.fragments = 0;
    return record;
  }

  private fail(code: RecordErrorCode, message: string): never {
    this.failed = new RecordError(code, message);
    for (const piece of this.pieces) this.buffers?.give(piece);
    if (this.large) this.buffers?.give(this.large);
    this.pieces = [];
    this.large = null;
    this.recordBytes = 0;
    throw this.failed;
  }
}

/**
 * A writer for one outgoing record: its first 4 bytes are a placeholder for the
 * record mark, filled in by {@link finishRecord}. Options as for XdrWriter;
 * `maxSize` counts the 4 header bytes.
 */
export function newRecordWriter(options: { initialSize?: number; maxSize?: number } = {}): XdrWriter {
  const w = new XdrWriter({ initialSize: options.initialSize ?? 512, maxSize: options.maxSize ?? MAX_FRAGMENT_LENGTH });
  w.reserveUint();
  return w;
}

/**
 * Patches the record mark of a writer from {@link newRecordWriter} (one last
 * fragment holding everything written) and returns the framed bytes, owned by
 * the caller.
 */
export function finishRecord(w: XdrWriter): Buffer {
  const payload = w.length - 4;
  if (payload > MAX_FRAGMENT_LENGTH) throw new RangeError(`record payload of ${payload} bytes exceeds one fragment`);
  w.patchUint(0, (LAST_FRAGMENT | payload) >>> 0);
  return w.finish();
}

/** XDR padding: slice the zero bytes a tail needs (never written to). */
export const ZERO_PAD = Buffer.alloc(4);

/**
 * Like {@link finishRecord}, for a record whose last bytes are `tail`, sent as it is
 * (not copied) after what the writer holds and followed by its XDR zero padding: the
 * writer has already written the tail's opaque length. Returns the record as chunks
 * to write in order (one writev); `maxSize` bounds the whole record, mark included.
 * @throws XdrError 'XDR_OVERFLOW' when the record would exceed `maxSize`.
 */
export function finishRecordWithTail(w: XdrWriter, tail: Uint8Array, maxSize = MAX_FRAGMENT_LENGTH): Buffer[] {
  const { head, pad } = finishRecordBefore(w, tail.length, maxSize);
  const t = Buffer.isBuffer(tail) ? tail : Buffer.from(tail.buffer, tail.byteOffset, tail.length);
  if (tail.length === 0) return [head];
  return pad ? [head, t, ZERO_PAD.subarray(0, pad)] : [head, t];
}

/**
 * Patches the record mark of a record whose last bytes are a tail of `tailLength` bytes
 * sent after what the writer holds, then the tail's XDR padding (`pad` zero bytes); the
 * writer has already written the tail's opaque length. Returns the bytes before the tail.
 * @throws XdrError 'XDR_OVERFLOW' when the record would exceed `maxSize`, mark included.
 */
export function finishRecordBefore(w: XdrWriter, tailLength: number, maxSize = MAX_FRAGMENT_LENGTH): { head: Buffer; pad: number } {
  const pad = (4 - (tailLength & 3)) & 3;
  const total = w.length + tailLength + pad;
  if (total > maxSize || total - 4 > MAX_FRAGMENT_LENGTH) {
    throw new XdrError('XDR_OVERFLOW', `${total} bytes exceed the limit of ${maxSize}`, w.length);
  }
  w.patchUint(0, (LAST_FRAGMENT | (total - 4)) >>> 0);
  return { head: w.finish(), pad };
}

/** Frames `payload` as one single-fragment record (copies it). */
export function frameRecord(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAGMENT_LENGTH) throw new RangeError(`record payload of ${payload.length} bytes exceeds one fragment`);
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE((LAST_FRAGMENT | payload.length) >>> 0, 0);
  out.set(payload, 4);
  return out;
}

/** A record-marking header word for a fragment of `length` bytes. */
export function recordMark(length: number, last = true): number {
  if (!Number.isInteger(length) || length < 0 || length > MAX_FRAGMENT_LENGTH) throw new RangeError(`bad fragment length ${length}`);
  return ((last ? LAST_FRAGMENT : 0) | length) >>> 0;
}
