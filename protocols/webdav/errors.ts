import { FsError, type FsErrorCode } from '../../src/fs/errors.js';

/**
 * The one place where domain errors become HTTP statuses for WebDAV. Handlers throw
 * HttpError for protocol-level refusals and let FsError through; `toHttpError` decides.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    /** An XML body (a DAV:error element) instead of plain text. */
    readonly xmlBody?: string,
    /** The request body is left unread: discard it briefly after answering, then close (http/linger.ts). */
    readonly closeConnection = false,
  ) {
    super(message);
  }
}

/** How an operation wants a few ambiguous codes answered. */
export interface ErrorContext {
  /** NOT_FOUND means a missing parent of the target (PUT, MKCOL, COPY/MOVE destination): 409. */
  readonly missingIsConflict?: boolean;
  /** Status for MARBLE_EXISTS: 405 for MKCOL, 412 for COPY/MOVE/PUT preconditions. */
  readonly existsStatus?: 405 | 412;
}

export const RETRY_AFTER_SECONDS = 5;

const STATUS: Record<FsErrorCode, number> = {
  MARBLE_NOT_FOUND: 404,
  MARBLE_EXISTS: 405,
  MARBLE_NOT_DIR: 409,
  MARBLE_IS_DIR: 409,
  MARBLE_NOT_EMPTY: 409,
  MARBLE_READ_ONLY: 403,
  MARBLE_INVALID_NAME: 400,
  MARBLE_INVALID_MOVE: 403,
  MARBLE_NO_SPACE: 507,
  MARBLE_CONFLICT: 412,
  MARBLE_CONTENT_UNAVAILABLE: 503,
  MARBLE_GONE: 410,
  MARBLE_TOO_LARGE: 413,
};

/** The HTTP answer for an error, or null when it is not ours to explain (answer 500, log the stack). */
export function toHttpError(e: unknown, ctx: ErrorContext = {}): HttpError | null {
  if (e instanceof HttpError) return e;
  if (!(e instanceof FsError)) return null;
  let status = STATUS[e.code];
  if (e.code === 'MARBLE_NOT_FOUND' && ctx.missingIsConflict) status = 409;
  if (e.code === 'MARBLE_EXISTS' && ctx.existsStatus) status = ctx.existsStatus;
  const headers: Record<string, string> =
    e.code === 'MARBLE_CONTENT_UNAVAILABLE' ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {};
  return new HttpError(status, `${e.code}: ${e.message}`, headers);
}

/** Client went away or sent a broken body: not a server fault, nothing to log as an error. */
export function isClientAbort(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE' || (e as Error)?.message === 'aborted';
}
