import type { DavContext } from '../dav-context.js';
import { HttpError, toHttpError } from '../errors.js';
import { parseDepth } from '../http/dav-headers.js';
import { parentOf } from '../http/paths.js';
import { sendEmpty } from '../http/respond.js';
import { checkIfAndLocks } from '../locks/lock-check.js';
import { clearDestination, prepareTransfer } from './copy-move.js';
import { headerOf } from '../http/header.js';

/** MOVE: a rename in the view (node identity kept); 201 created, 204 replaced. Source locks end. */
export async function handleMove(ctx: DavContext): Promise<void> {
  const t = await prepareTransfer(ctx);
  if (t.source.isDir && parseDepth(headerOf(ctx.req, 'depth'), 'infinity') !== 'infinity') {
    throw new HttpError(400, 'MOVE of a folder accepts only Depth: infinity');
  }
  await checkIfAndLocks(ctx, [
    { path: ctx.path, kind: 'tree' },
    { path: parentOf(ctx.path), kind: 'members' },
    { path: t.destination, kind: 'tree' },
    { path: parentOf(t.destination), kind: 'members' },
  ]);
  await clearDestination(ctx, t);
  try {
    await ctx.services.view.rename(ctx.path, t.destination, { overwrite: t.overwrite });
  } catch (e) {
    throw toHttpError(e, { missingIsConflict: true, existsStatus: 412 }) ?? e;
  }
  ctx.services.locks.removeWithin(ctx.path);
  sendEmpty(ctx.res, t.existing ? 204 : 201);
}
