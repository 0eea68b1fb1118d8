/**
 * Errors of the XDR codec (RFC 4506). `code` is stable and searchable.
 *
 * Decode codes mean the bytes from the wire are wrong (the RPC layer answers
 * GARBAGE_ARGS); encode codes mean our own code tried to write something the
 * type cannot hold (a bug: the RPC layer answers SYSTEM_ERR).
 */
export type XdrDecodeErrorCode =
  /** fewer bytes remain than the item needs */
  | 'XDR_SHORT'
  /** a length or count read from the wire exceeds the caller's bound */
  | 'XDR_TOO_LONG'
  /** a bool (or optional discriminant) other than 0 or 1 */
  | 'XDR_BAD_BOOL'
  /** an enum value outside the caller's set */
  | 'XDR_BAD_ENUM'
  /** bytes left over where the caller expected the end */
  | 'XDR_TRAILING';

export type XdrEncodeErrorCode =
  /** a number out of the type's range, or data longer than its declared maximum */
  | 'XDR_BAD_VALUE'
  /** the output would exceed the writer's fixed buffer or maximum size */
  | 'XDR_OVERFLOW'
  /** the writer was used after finish() */
  | 'XDR_FINISHED';

export type XdrErrorCode = XdrDecodeErrorCode | XdrEncodeErrorCode;

const DECODE_CODES: ReadonlySet<XdrErrorCode> = new Set<XdrDecodeErrorCode>([
  'XDR_SHORT',
  'XDR_TOO_LONG',
  'XDR_BAD_BOOL',
  'XDR_BAD_ENUM',
  'XDR_TRAILING',
]);

export class XdrError extends Error {
  constructor(
    readonly code: XdrErrorCode,
    message: string,
    /** byte offset in the reader's or writer's buffer where the problem was found */
    readonly offset: number,
  ) {
    super(`${code}: ${message} (at byte ${offset})`);
    this.name = 'XdrError';
  }

  /** True when the input bytes were at fault (as opposed to our own encoder). */
  get isDecodeError(): boolean {
    return DECODE_CODES.has(this.code);
  }
}

/** True for an XdrError raised while reading wire bytes (malformed input, not a bug). */
export function isXdrDecodeError(e: unknown): e is XdrError {
  return e instanceof XdrError && e.isDecodeError;
}
