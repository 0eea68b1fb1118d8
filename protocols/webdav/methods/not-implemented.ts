import type { DavContext } from '../dav-context.js';
import { discardBodyThenClose } from '../http/linger.js';
import { sendText } from '../http/respond.js';
import { ALLOWED_METHODS } from './allowed-methods.js';

/** Any method we do not serve (including POST): 501 without reading the body. */
export async function handleNotImplemented(ctx: DavContext): Promise<void> {
  discardBodyThenClose(ctx.req, ctx.res);
  sendText(ctx.res, 501, `method ${ctx.req.method ?? ''} is not supported`.slice(0, 200), { Allow: ALLOWED_METHODS });
}
