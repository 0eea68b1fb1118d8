import type { DavContext } from '../dav-context.js';
import { sendEmpty } from '../http/respond.js';
import { ALLOWED_METHODS } from './allowed-methods.js';

/** OPTIONS: advertises WebDAV classes 1 and 2 and the methods we serve. */
export async function handleOptions(ctx: DavContext): Promise<void> {
  sendEmpty(ctx.res, 200, { DAV: '1, 2', 'MS-Author-Via': 'DAV', Allow: ALLOWED_METHODS });
}
