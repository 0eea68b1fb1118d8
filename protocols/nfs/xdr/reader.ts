import { XdrError } from './errors.js';

/** Largest value of an XDR unsigned int; also the largest length XDR can express. */
export const XDR_UINT_MAX = 0xffff_ffff;

/** Number of zero bytes that pad `n` bytes of opaque data to a 4-byte boundary. */
export function xdrPad(n: number): number {
  return (4 - (n & 3)) & 3;
}

/**
 * Reads XDR items (RFC 4506) from a Buffer, advancing a cursor.
 *
 * Contract:
 * - Every method either returns a complete, validated item and advances the
 *   cursor past it (padding included), or throws an {@link XdrError} with a
 *   decode code ('XDR_SHORT', 'XDR_TOO_LONG', 'XDR_BAD_BOOL', 'XDR_BAD_ENUM',
 *   'XDR_TRAILING'). After a throw the cursor position is unspecified; callers
 *   abandon the reader.
 * - Every length or count taken from the wire is checked against the bytes that
 *   remain AND against a maximum the caller supplies, before anything is
 *   allocated. There is no unbounded variant.
 * - Buffers returned by the opaque readers are views into the reader's input
 *   (no copy). The reader never writes to its input; whoever owns the input owns
 *   the views too. Copy with `Buffer.from(view)` to keep bytes beyond the life
 *   of the input (for instance in a cache).
 * - Padding bytes are skipped without checking they are zero, as the Linux and
 *   Ganesha servers do: strictness there breaks clients and protects nothing.
 */
export class XdrReader {
  private pos: number;
  private readonly end: number;

  /**
   * @param buf input; the reader keeps a reference and reads `buf[start, end)`.
   * @throws RangeError if `start`/`end` lie outside `buf`.
   */
  constructor(
    private readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    if (!(0 <= start && start <= end && end <= buf.length)) {
      throw new RangeError(`XdrReader: bad window [${start}, ${end}) of ${buf.length} bytes`);
    }
    this.pos = start;
    this.end = end;
  }

  /** Current cursor, as an index into the input buffer. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left between the cursor and the end of the window. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** @throws XdrError 'XDR_TRAILING' unless the cursor is at the end. */
  assertEnd(): void {
    if (this.pos !== this.end) {
      throw new XdrError('XDR_TRAILING', `${this.end - this.pos} unexpected trailing bytes`, this.pos);
    }
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new XdrError('XDR_SHORT', `${what} needs ${n} bytes, ${this.end - this.pos} left`, this.pos);
    }
  }

  /** Signed 32-bit integer. */
  readInt(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned 32-bit integer, 0 … 2^32-1. */
  readUint(): number {
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Signed 64-bit integer (hyper). */
  readHyper(): bigint {
    this.need(8, 'hyper');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned 64-bit integer (unsigned hyper). */
  readUhyper(): bigint {
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** @throws XdrError 'XDR_BAD_BOOL' for anything but 0 or 1. */
  readBool(): boolean {
    this.need(4, 'bool');
    const v = this.buf.readUInt32BE(this.pos);
    if (v > 1) throw new XdrError('XDR_BAD_BOOL', `bool is ${v}, not 0 or 1`, this.pos);
    this.pos += 4;
    return v === 1;
  }

  /**
   * An enum: a signed int that must belong to `values`.
   * @throws XdrError 'XDR_BAD_ENUM' for a value outside the set.
   */
  readEnum<E extends number>(values: ReadonlySet<E>): E {
    this.need(4, 'enum');
    const v = this.buf.readInt32BE(this.pos);
    if (!values.has(v as E)) throw new XdrError('XDR_BAD_ENUM', `enum value ${v} is not defined`, this.pos);
    this.pos += 4;
    return v as E;
  }

  /** Fixed-length opaque of `n` bytes plus padding; returns a view of the `n` bytes. */
  readFixedOpaque(n: number): Buffer {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`readFixedOpaque: bad length ${n}`);
    const padded = n + xdrPad(n);
    this.need(padded, `opaque[${n}]`);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += padded;
    return v;
  }

  /**
   * Reads a length that prefixes `itemBytes`-sized items and checks it against
   * `max` and the remaining input before the caller allocates anything.
   */
  private readLength(max: number, itemBytes: number, what: string): number {
    const at = this.pos;
    const n = this.readUint();
    if (n > max) throw new XdrError('XDR_TOO_LONG', `${what} length ${n} exceeds the maximum ${max}`, at);
    // Checked before the caller allocates: a claimed length must fit in what arrived.
    const bytes = n * itemBytes;
    if (bytes + xdrPad(bytes) > this.end - this.pos) {
      throw new XdrError('XDR_SHORT', `${what} of length ${n} does not fit in ${this.end - this.pos} bytes`, at);
    }
    return n;
  }

  /** Variable-length opaque `opaque<max>`; returns a view (no copy). */
  readOpaque(max: number): Buffer {
    const n = this.readLength(max, 1, 'opaque');
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n + xdrPad(n);
    return v;
  }

  /**
   * `string<max>` decoded as UTF-8 (invalid sequences become U+FFFD). Callers
   * that need the exact bytes, such as file names, use {@link readOpaque}: a
   * decoded string does not round-trip, and re-encoding it can exceed `max`.
   */
  readString(max: number, encoding: BufferEncoding = 'utf8'): string {
    return this.readOpaque(max).toString(encoding);
  }

  /**
   * Variable-length array `T<maxCount>`. The count is checked against `maxCount`
   * and against `count * minItemBytes <= remaining` before the array is built;
   * `minItemBytes` defaults to 4, the size of the smallest non-void XDR item.
   */
  readArray<T>(maxCount: number, readItem: (r: XdrReader) => T, minItemBytes = 4): T[] {
    const n = this.readLength(maxCount, minItemBytes, 'array');
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(readItem(this));
    return out;
  }

  /** Fixed-length array `T[n]`; checks `n * minItemBytes` against the remaining bytes first. */
  readFixedArray<T>(n: number, readItem: (r: XdrReader) => T, minItemBytes = 4): T[] {
    this.need(n * minItemBytes, `array[${n}]`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(readItem(this));
    return out;
  }

  /** Optional data `*T` (a bool discriminant then, if true, the item). */
  readOptional<T>(readItem: (r: XdrReader) => T): T | undefined {
    return this.readBool() ? readItem(this) : undefined;
  }

  /** The rest of the window as a view, moving the cursor to the end. */
  readRest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }
}
