import type { DavContext } from '../dav-context.js';
import { HttpError, toHttpError } from '../errors.js';
import { parseDepth } from '../http/dav-headers.js';
import { parentOf } from '../http/paths.js';
import { sendEmpty } from '../http/respond.js';
import { checkIfAndLocks } from '../locks/lock-check.js';
import { clearDestination, prepareTransfer } from './copy-move.js';
import { headerOf } from '../http/header.js';

/** COPY: Depth 0 or infinity, Overwrite T/F; 201 created, 204 replaced. Locks are not copied. */
export async function handleCopy(ctx: DavContext): Promise<void> {
  const depth = parseDepth(headerOf(ctx.req, 'depth'), 'infinity');
  if (depth === 1) throw new HttpError(400, 'COPY accepts Depth 0 or infinity');
  const t = await prepareTransfer(ctx);
  await checkIfAndLocks(ctx, [
    { path: t.destination, kind: 'tree' },
    { path: parentOf(t.destination), kind: 'members' },
  ]);
  await clearDestination(ctx, t);
  try {
    await ctx.services.view.copy(ctx.path, t.destination, { overwrite: t.overwrite, depth: depth === 0 ? 0 : 'infinity' });
  } catch (e) {
    throw toHttpError(e, { missingIsConflict: true, existsStatus: 412 }) ?? e;
  }
  sendEmpty(ctx.res, t.existing ? 204 : 201);
}
