import type { DavContext } from '../dav-context.js';
import { HttpError, toHttpError } from '../errors.js';
import { parentOf } from '../http/paths.js';
import { hasBody } from '../http/request-body.js';
import { sendEmpty } from '../http/respond.js';
import { checkIfAndLocks } from '../locks/lock-check.js';

/** MKCOL: 201; 405 if the name is taken, 409 if the parent is missing, 415 with a body. */
export async function handleMkcol(ctx: DavContext): Promise<void> {
  if (hasBody(ctx.req)) throw new HttpError(415, 'MKCOL with a request body is not supported', {}, undefined, true);
  await checkIfAndLocks(ctx, [{ path: parentOf(ctx.path), kind: 'members' }]);
  try {
    await ctx.services.view.mkdir(ctx.path);
  } catch (e) {
    throw toHttpError(e, { missingIsConflict: true, existsStatus: 405 }) ?? e;
  }
  sendEmpty(ctx.res, 201);
}
