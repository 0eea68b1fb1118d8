import type { DavContext } from '../dav-context.js';
import { HttpError } from '../errors.js';
import { parseDepth } from '../http/dav-headers.js';
import { parentOf } from '../http/paths.js';
import { sendEmpty } from '../http/respond.js';
import { checkIfAndLocks } from '../locks/lock-check.js';
import { headerOf } from '../http/header.js';

/** DELETE: a file, or a folder with everything in it (Depth: infinity only). 204. */
export async function handleDelete(ctx: DavContext): Promise<void> {
  const entry = await ctx.state.statOrNull(ctx.path);
  if (!entry) throw new HttpError(404, 'no such file or folder');
  if (entry.isDir && parseDepth(headerOf(ctx.req, 'depth'), 'infinity') !== 'infinity') {
    throw new HttpError(400, 'DELETE of a folder requires Depth: infinity');
  }
  await checkIfAndLocks(ctx, [
    { path: ctx.path, kind: 'tree' },
    { path: parentOf(ctx.path), kind: 'members' },
  ]);
  await ctx.services.view.remove(ctx.path, { recursive: true });
  ctx.services.locks.removeWithin(ctx.path);
  sendEmpty(ctx.res, 204);
}
