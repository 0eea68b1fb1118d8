import type { DavContext } from '../dav-context.js';
import { isClientAbort, toHttpError } from '../errors.js';
import { discardBodyThenClose } from '../http/linger.js';
import { sendText, sendXml } from '../http/respond.js';

export type MethodHandler = (ctx: DavContext) => Promise<void>;

/**
 * Runs a handler so that nothing escapes: a refusal becomes its status, anything
 * unexpected a logged 500, and a failure after the headers went out closes the connection.
 * Never throws, never rejects.
 */
export async function runHandler(ctx: DavContext, handler: MethodHandler): Promise<void> {
  try {
    await handler(ctx);
  } catch (e) {
    try {
      answerError(ctx, e);
    } catch (inner) {
      ctx.services.logger.error({ err: errorFields(inner) }, 'webdav: failed to send an error response');
      ctx.res.destroy();
    }
  }
}

function answerError(ctx: DavContext, e: unknown): void {
  const { res, req } = ctx;
  const http = toHttpError(e);
  if (!http) {
    if (isClientAbort(e)) {
      res.destroy();
      return;
    }
    ctx.services.logger.error(
      { err: errorFields(e), method: req.method, path: ctx.path },
      'webdav: internal error while handling a request',
    );
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = http?.status ?? 500;
  const headers: Record<string, string> = { ...(http?.headers ?? {}) };
  if (http?.closeConnection) discardBodyThenClose(req, res);
  if (http?.xmlBody) sendXml(res, status, http.xmlBody, headers);
  else sendText(res, status, http ? http.message : 'internal server error (logged)', headers);
}

export function errorFields(e: unknown): object {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack, code: (e as { code?: unknown }).code };
  return { value: String(e) };
}
