import type { Entry } from '../../../src/fs/types.js';
import type { DavContext } from '../dav-context.js';
import { HttpError } from '../errors.js';
import { parseOverwrite } from '../http/dav-headers.js';
import { isWithin, parseTarget } from '../http/paths.js';
import { headerOf } from '../http/header.js';

/** What COPY and MOVE share: the checked source, destination and Overwrite flag. */
export interface Transfer {
  readonly source: Entry;
  readonly destination: string;
  /** The entry at the destination before the operation, null if none. */
  readonly existing: Entry | null;
  readonly overwrite: boolean;
}

export async function prepareTransfer(ctx: DavContext): Promise<Transfer> {
  const header = headerOf(ctx.req, 'destination');
  if (header === undefined) throw new HttpError(400, 'missing Destination header');
  const destination = parseTarget(header.trim()).path;
  const overwrite = parseOverwrite(headerOf(ctx.req, 'overwrite'));
  const source = await ctx.state.statOrNull(ctx.path);
  if (!source) throw new HttpError(404, 'no such file or folder');
  if (destination === ctx.path) throw new HttpError(403, 'source and destination are the same');
  if (source.isDir && isWithin(destination, ctx.path)) {
    throw new HttpError(403, 'cannot copy or move a folder into itself');
  }
  if (destination === '/' ) throw new HttpError(403, 'cannot replace the root folder');
  const existing = await ctx.state.statOrNull(destination);
  if (existing && !overwrite) throw new HttpError(412, 'destination exists and Overwrite is F');
  return { source, destination, existing, overwrite };
}

/**
 * RFC 4918 §9.8.4/§9.9.3: an existing destination is deleted first when either side is a
 * folder (the view's POSIX replace would refuse a non-empty folder or a type change);
 * a file over a file is replaced atomically by the view.
 */
export async function clearDestination(ctx: DavContext, t: Transfer): Promise<void> {
  if (t.existing && (t.existing.isDir || t.source.isDir)) {
    await ctx.services.view.remove(t.destination, { recursive: true });
    ctx.services.locks.removeWithin(t.destination);
  }
}
