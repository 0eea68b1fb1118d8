import type { DavContext } from '../dav-context.js';
import { HttpError } from '../errors.js';
import { parseLockTokenHeader } from '../http/dav-headers.js';
import { isWithin } from '../http/paths.js';
import { sendEmpty } from '../http/respond.js';
import { headerOf } from '../http/header.js';

/** UNLOCK: removes the lock named by Lock-Token if it applies to the request URL. 204. */
export async function handleUnlock(ctx: DavContext): Promise<void> {
  const token = parseLockTokenHeader(headerOf(ctx.req, 'lock-token'));
  const lock = ctx.services.locks.get(token);
  const applies = lock && (lock.root === ctx.path || (lock.depth === 'infinity' && isWithin(ctx.path, lock.root)));
  if (!lock || !applies) {
    throw new HttpError(
      409,
      'no such lock on this resource',
      {},
      '<D:error xmlns:D="DAV:"><D:lock-token-matches-request-uri/></D:error>',
    );
  }
  if (lock.user !== null && lock.user !== ctx.user) throw new HttpError(403, 'lock belongs to another user');
  ctx.services.locks.remove(token);
  sendEmpty(ctx.res, 204);
}
