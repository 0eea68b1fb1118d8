import { XdrError } from './errors.js';
import { XDR_UINT_MAX, xdrPad } from './reader.js';

export interface XdrWriterOptions {
  /** First buffer size in bytes (default 256); the buffer doubles as needed. */
  initialSize?: number;
  /** Hard ceiling on the encoded size (default 2^31-1); exceeding it throws 'XDR_OVERFLOW'. */
  maxSize?: number;
}

const INT_MIN = -0x8000_0000;
const INT_MAX = 0x7fff_ffff;
const HYPER_MIN = -(1n << 63n);
const HYPER_MAX = (1n << 63n) - 1n;
const UHYPER_MAX = (1n << 64n) - 1n;

/**
 * Writes XDR items (RFC 4506) into a buffer it owns, growing it geometrically,
 * or into a caller's preallocated buffer ({@link XdrWriter.into}).
 *
 * Contract:
 * - Write methods append one complete item (padding zeroed) and return `this`.
 *   They throw {@link XdrError} with an encode code: 'XDR_BAD_VALUE' for a number
 *   out of range or data longer than the `max` passed, 'XDR_OVERFLOW' when the
 *   fixed buffer or `maxSize` would be exceeded, 'XDR_FINISHED' after finish().
 *   A throw leaves nothing partially appended except by the array/optional
 *   helpers, whose item callbacks may have written before failing.
 * - {@link finish} returns a view of the written bytes, sharing memory with the
 *   writer's buffer (or the caller's buffer for `into`). The writer is then
 *   closed: the caller owns the bytes and nothing will overwrite them.
 * - Data passed in (opaque, raw) is copied; the writer keeps no reference to it.
 */
export class XdrWriter {
  private buf: Buffer;
  private pos = 0;
  private finished = false;
  private fixed = false;
  private maxSize: number;

  constructor(options: XdrWriterOptions = {}) {
    this.maxSize = options.maxSize ?? INT_MAX;
    // Never larger than maxSize, so the fast path in ensure() needs no second check.
    this.buf = Buffer.allocUnsafe(Math.min(Math.max(16, options.initialSize ?? 256), this.maxSize));
  }

  /** A writer that fills `buf` from byte 0 and never reallocates. */
  static into(buf: Buffer): XdrWriter {
    const w = new XdrWriter({ initialSize: 16 });
    w.buf = buf;
    w.fixed = true;
    w.maxSize = buf.length;
    return w;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.finished) throw new XdrError('XDR_FINISHED', 'writer used after finish()', this.pos);
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    if (this.fixed || need > this.maxSize) {
      throw new XdrError('XDR_OVERFLOW', `${need} bytes exceed the limit of ${this.fixed ? this.buf.length : this.maxSize}`, this.pos);
    }
    const grown = Buffer.allocUnsafe(Math.min(this.maxSize, Math.max(need, this.buf.length * 2)));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  private badValue(what: string): never {
    throw new XdrError('XDR_BAD_VALUE', what, this.pos);
  }

  writeInt(v: number): this {
    if (!Number.isInteger(v) || v < INT_MIN || v > INT_MAX) this.badValue(`int out of range: ${v}`);
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  writeUint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > XDR_UINT_MAX) this.badValue(`unsigned int out of range: ${v}`);
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
    return this;
  }

  writeHyper(v: bigint): this {
    if (v < HYPER_MIN || v > HYPER_MAX) this.badValue(`hyper out of range: ${v}`);
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
    return this;
  }

  writeUhyper(v: bigint): this {
    if (v < 0n || v > UHYPER_MAX) this.badValue(`unsigned hyper out of range: ${v}`);
    this.ensure(8);
    this.pos = this.buf.writeBigUInt64BE(v, this.pos);
    return this;
  }

  writeBool(v: boolean): this {
    return this.writeUint(v ? 1 : 0);
  }

  /** An enum is a signed int on the wire; the type parameter keeps callers honest. */
  writeEnum<E extends number>(v: E): this {
    return this.writeInt(v);
  }

  /** Fixed-length opaque: exactly `n` bytes (default `data.length`) plus zero padding. */
  writeFixedOpaque(data: Uint8Array, n = data.length): this {
    if (data.length !== n) this.badValue(`fixed opaque must be ${n} bytes, got ${data.length}`);
    const padded = n + xdrPad(n);
    this.ensure(padded);
    this.buf.set(data, this.pos);
    this.buf.fill(0, this.pos + n, this.pos + padded);
    this.pos += padded;
    return this;
  }

  /** Variable-length opaque `opaque<max>`: length, bytes, zero padding. */
  writeOpaque(data: Uint8Array, max = XDR_UINT_MAX): this {
    if (data.length > max) this.badValue(`opaque of ${data.length} bytes exceeds the maximum ${max}`);
    this.ensure(4 + data.length + xdrPad(data.length));
    this.writeUint(data.length);
    return this.writeFixedOpaque(data);
  }

  /** `string<max>`, where `max` counts encoded bytes (UTF-8 by default), as on the wire. */
  writeString(s: string, max = XDR_UINT_MAX, encoding: BufferEncoding = 'utf8'): this {
    return this.writeOpaque(Buffer.from(s, encoding), max);
  }

  /** Variable-length array `T<max>`: count, then each item written by `writeItem`. */
  writeArray<T>(items: readonly T[], writeItem: (w: XdrWriter, item: T) => void, max = XDR_UINT_MAX): this {
    if (items.length > max) this.badValue(`array of ${items.length} items exceeds the maximum ${max}`);
    this.writeUint(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  /** Optional data `*T`: false, or true followed by the item. */
  writeOptional<T>(item: T | undefined, writeItem: (w: XdrWriter, item: T) => void): this {
    if (item === undefined) return this.writeBool(false);
    this.writeBool(true);
    writeItem(this, item);
    return this;
  }

  /** Appends bytes that are already XDR-encoded (their length should be a multiple of 4). */
  writeRaw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** Writes a 4-byte placeholder and returns its offset, for {@link patchUint}. */
  reserveUint(): number {
    const at = this.pos;
    this.writeUint(0);
    return at;
  }

  /** Overwrites the unsigned int at `at` (from {@link reserveUint}). */
  patchUint(at: number, v: number): this {
    if (this.finished) throw new XdrError('XDR_FINISHED', 'writer used after finish()', this.pos);
    if (!Number.isInteger(at) || at < 0 || at + 4 > this.pos) throw new RangeError(`patchUint: no placeholder at ${at}`);
    if (!Number.isInteger(v) || v < 0 || v > XDR_UINT_MAX) this.badValue(`unsigned int out of range: ${v}`);
    this.buf.writeUInt32BE(v, at);
    return this;
  }

  /**
   * Starts an opaque whose content is written by ordinary calls; returns a mark
   * for {@link endOpaque}. Used for nested encodings such as an AUTH_SYS body.
   */
  beginOpaque(): number {
    return this.reserveUint();
  }

  /** Ends an opaque started at `mark`: patches its length and zero-pads it. */
  endOpaque(mark: number, max = XDR_UINT_MAX): this {
    const n = this.pos - mark - 4;
    if (n < 0) throw new RangeError(`endOpaque: bad mark ${mark}`);
    if (n > max) this.badValue(`opaque of ${n} bytes exceeds the maximum ${max}`);
    this.patchUint(mark, n);
    const pad = xdrPad(n);
    this.ensure(pad);
    this.buf.fill(0, this.pos, this.pos + pad);
    this.pos += pad;
    return this;
  }

  /**
   * Closes the writer and returns the encoded bytes as a view of its buffer.
   * The caller owns them; further writes throw 'XDR_FINISHED'.
   */
  finish(): Buffer {
    if (this.finished) throw new XdrError('XDR_FINISHED', 'finish() called twice', this.pos);
    this.finished = true;
    return this.buf.subarray(0, this.pos);
  }
}
