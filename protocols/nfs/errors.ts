import { FsError, type FsErrorCode } from '../../src/fs/errors.js';
import { MNT3, NFS3, type NfsStat3 } from './constants.js';

/**
 * The one place where domain errors become NFS3ERR_* (and MNT3ERR_*) codes.
 * Handlers throw FsError (from the view) or NfsError (protocol-level refusals such
 * as BADHANDLE) and let {@link nfsStatusOf} decide what the client sees.
 */
export class NfsError extends Error {
  override name = 'NfsError';
  constructor(
    readonly status: NfsStat3,
    message: string,
  ) {
    super(message);
  }
}

const STATUS: Record<FsErrorCode, NfsStat3> = {
  MARBLE_NOT_FOUND: NFS3.ERR_NOENT,
  MARBLE_EXISTS: NFS3.ERR_EXIST,
  MARBLE_NOT_DIR: NFS3.ERR_NOTDIR,
  MARBLE_IS_DIR: NFS3.ERR_ISDIR,
  MARBLE_NOT_EMPTY: NFS3.ERR_NOTEMPTY,
  // ROFS rather than ACCES: the history and split views are read-only whoever asks.
  MARBLE_READ_ONLY: NFS3.ERR_ROFS,
  MARBLE_INVALID_NAME: NFS3.ERR_INVAL,
  MARBLE_INVALID_MOVE: NFS3.ERR_INVAL,
  MARBLE_NO_SPACE: NFS3.ERR_NOSPC,
  // A precondition lost to a concurrent writer: the client's view is out of date.
  MARBLE_CONFLICT: NFS3.ERR_IO,
  // Content still on its way from a peer: JUKEBOX makes clients retry after a pause.
  MARBLE_CONTENT_UNAVAILABLE: NFS3.ERR_JUKEBOX,
  // An old version whose content retention dropped: it exists but cannot be read.
  MARBLE_GONE: NFS3.ERR_IO,
  MARBLE_TOO_LARGE: NFS3.ERR_FBIG,
};

/**
 * The nfsstat3 for an error, or null when it is not ours to explain (a bug or an
 * operating-system failure: the caller answers NFS3ERR_SERVERFAULT and logs it).
 */
export function nfsStatusOf(e: unknown): NfsStat3 | null {
  if (e instanceof NfsError) return e.status;
  if (e instanceof FsError) return STATUS[e.code];
  return null;
}

/** The mountstat3 for an error from resolving an export path. */
export function mountStatusOf(e: unknown): number | null {
  const s = nfsStatusOf(e);
  switch (s) {
    case null:
      return null;
    case NFS3.ERR_NOENT:
    case NFS3.ERR_STALE:
      return MNT3.ERR_NOENT;
    case NFS3.ERR_NOTDIR:
      return MNT3.ERR_NOTDIR;
    case NFS3.ERR_NAMETOOLONG:
      return MNT3.ERR_NAMETOOLONG;
    case NFS3.ERR_INVAL:
      return MNT3.ERR_INVAL;
    case NFS3.ERR_ACCES:
    case NFS3.ERR_PERM:
      return MNT3.ERR_ACCES;
    default:
      return MNT3.ERR_IO;
  }
}

export const badHandle = (why: string) => new NfsError(NFS3.ERR_BADHANDLE, `malformed file handle: ${why}`);
export const staleHandle = (key: string) => new NfsError(NFS3.ERR_STALE, `file handle of ${key}: no longer exists`);
export const nameTooLong = (n: number) => new NfsError(NFS3.ERR_NAMETOOLONG, `name of ${n} bytes is too long`);
export const invalid = (why: string) => new NfsError(NFS3.ERR_INVAL, why);
export const notSupported = (what: string) => new NfsError(NFS3.ERR_NOTSUPP, `${what} is not supported`);
