import type { IncomingMessage, ServerResponse } from 'node:http';
import type { v2 as dav } from 'webdav-server';
import { attachState, DavRequestState, type DavServices } from './dav-context.js';
import { HttpError, toHttpError } from './errors.js';
import { discardBodyThenClose } from './http/linger.js';
import { parseRequestTarget } from './http/paths.js';
import { sendText } from './http/respond.js';
import { errorFields } from './methods/run-handler.js';

/** Methods whose body may be large (streamed to the view); every other body is XML or nothing. */
const STREAMING_METHODS = new Set(['PUT']);

/**
 * The node http request listener in front of webdav-server. Before the library sees a
 * request it: decodes and checks the target (bad paths never reach the library, whose own
 * decoder throws on malformed escapes), refuses oversized non-PUT bodies by their
 * Content-Length, and guards the library's executeRequest (which has no try/catch).
 */
export function createRequestListener(
  server: dav.WebDAVServer,
  services: DavServices,
  onRequest?: (method: string, status: number, seconds: number) => void,
): (req: IncomingMessage, res: ServerResponse, expectsContinue?: boolean) => void {
  return (req, res, expectsContinue = false) => {
    if (onRequest) {
      const started = process.hrtime.bigint();
      res.once('close', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        try {
          onRequest(req.method ?? '', res.statusCode, seconds);
        } catch (e) {
          services.logger.error({ err: errorFields(e) }, 'webdav: onRequest hook failed');
        }
      });
    }
    try {
      const target = parseRequestTarget(req.url ?? '/');
      const method = req.method ?? '';
      const length = req.headers['content-length'];
      if (!STREAMING_METHODS.has(method) && length !== undefined && Number(length) > services.maxXmlBytes) {
        throw new HttpError(413, `request body larger than ${services.maxXmlBytes} bytes`, {}, undefined, true);
      }
      const state = new DavRequestState(services.view, target.path);
      state.expectsContinue = expectsContinue;
      state.bindResponse(res);
      attachState(req, state);
      server.executeRequest(req, res);
    } catch (e) {
      refuse(req, res, e, services);
    }
  };
}

function refuse(req: IncomingMessage, res: ServerResponse, e: unknown, services: DavServices): void {
  const http = toHttpError(e);
  if (!http) services.logger.error({ err: errorFields(e) }, 'webdav: internal error before dispatch');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { ...(http?.headers ?? {}) };
  if (http?.closeConnection) discardBodyThenClose(req, res);
  sendText(res, http?.status ?? 500, http ? http.message : 'internal server error (logged)', headers);
}
