/**
 * Domain errors of the filesystem view. Every front end maps these to its own
 * wire codes in exactly one place (WebDAV: protocols/webdav/errors.ts).
 * `code` is stable: users and scripts may search for it.
 */
export type FsErrorCode =
  | 'MARBLE_NOT_FOUND'
  | 'MARBLE_EXISTS'
  | 'MARBLE_NOT_DIR'
  | 'MARBLE_IS_DIR'
  | 'MARBLE_NOT_EMPTY'
  | 'MARBLE_READ_ONLY'
  | 'MARBLE_INVALID_NAME'
  | 'MARBLE_INVALID_MOVE'
  | 'MARBLE_NO_SPACE'
  | 'MARBLE_CONFLICT'
  | 'MARBLE_CONTENT_UNAVAILABLE'
  | 'MARBLE_GONE'
  | 'MARBLE_TOO_LARGE';

export class FsError extends Error {
  constructor(
    readonly code: FsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FsError';
  }
}

export const NotFound = (what: string) => new FsError('MARBLE_NOT_FOUND', `${what}: no such file or folder`);
export const Exists = (what: string) => new FsError('MARBLE_EXISTS', `${what}: already exists`);
export const NotDir = (what: string) => new FsError('MARBLE_NOT_DIR', `${what}: not a folder`);
export const IsDir = (what: string) => new FsError('MARBLE_IS_DIR', `${what}: is a folder`);
export const NotEmpty = (what: string) => new FsError('MARBLE_NOT_EMPTY', `${what}: folder is not empty`);
export const ReadOnly = (what: string) =>
  new FsError('MARBLE_READ_ONLY', `${what}: read-only (history and split views cannot be written, except deleting a split version)`);
export const InvalidName = (what: string) => new FsError('MARBLE_INVALID_NAME', `${what}: invalid name`);
export const InvalidMove = (what: string) =>
  new FsError('MARBLE_INVALID_MOVE', `${what}: a folder cannot be moved into itself`);
export const NoSpace = (what: string) =>
  new FsError('MARBLE_NO_SPACE', `${what}: not enough disk space in the data directory; nothing was changed`);
export const Conflict = (what: string) =>
  new FsError('MARBLE_CONFLICT', `${what}: changed by someone else meanwhile (precondition failed)`);
export const ContentUnavailable = (what: string) =>
  new FsError('MARBLE_CONTENT_UNAVAILABLE', `${what}: content has not arrived from a peer yet; retry shortly`);

export const Gone = (what: string) =>
  new FsError('MARBLE_GONE', `${what}: the content of this old version is no longer kept (history retention)`);

export function isFsError(e: unknown, code?: FsErrorCode): e is FsError {
  return e instanceof FsError && (code === undefined || e.code === code);
}

/** Maps an operating-system error from the data directory to a domain error where one fits. */
export function fromSystemError(e: unknown, what: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return NoSpace(what);
  return e;
}
