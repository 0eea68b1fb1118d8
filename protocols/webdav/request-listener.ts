import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BasicAuthentication } from './auth/basic-auth.js';
import { DavRequestState, type DavContext, type DavServices } from './dav-context.js';
import { HttpError, toHttpError } from './errors.js';
import { discardBodyThenClose } from './http/linger.js';
import { parseRequestTarget } from './http/paths.js';
import { sendText } from './http/respond.js';
import { ALLOWED_METHODS } from './methods/allowed-methods.js';
import { METHOD_TABLE } from './methods/method-table.js';
import { handleNotImplemented } from './methods/not-implemented.js';
import { errorFields, runHandler, type MethodHandler } from './methods/run-handler.js';

/** Methods whose body may be large (streamed to the view); every other body is XML or nothing. */
const STREAMING_METHODS = new Set(['PUT']);

const HANDLERS = new Map<string, MethodHandler>(Object.entries(METHOD_TABLE));

/** On every response (what webdav-server used to add, minus its CORS wildcard). */
const COMMON_HEADERS: ReadonlyArray<[string, string]> = [
  ['Server', 'marble-synch/1'],
  ['MS-Author-Via', 'DAV'],
  ['Allow', ALLOWED_METHODS],
];

/**
 * The node http request listener: the whole dispatch. It decodes and checks the target,
 * refuses oversized non-PUT bodies by their Content-Length, authenticates, and runs the
 * method's handler (methods/), which never throws. Everything happens in this tick up to the
 * handler's first await: a small request costs no more than its handler.
 */
export function createRequestListener(
  services: DavServices,
  auth: BasicAuthentication | null,
  onRequest?: (method: string, status: number, seconds: number) => void,
): (req: IncomingMessage, res: ServerResponse, expectsContinue?: boolean) => void {
  return (req, res, expectsContinue = false) => {
    if (onRequest) observe(req, res, services, onRequest);
    for (const [name, value] of COMMON_HEADERS) res.setHeader(name, value);
    let ctx: DavContext;
    try {
      const target = parseRequestTarget(req.url ?? '/');
      const method = req.method ?? '';
      const length = req.headers['content-length'];
      if (!STREAMING_METHODS.has(method) && length !== undefined && Number(length) > services.maxXmlBytes) {
        throw new HttpError(413, `request body larger than ${services.maxXmlBytes} bytes`, {}, undefined, true);
      }
      let user: string | null = null;
      if (auth) {
        user = auth.check(req.headers.authorization);
        if (user === null) throw new HttpError(401, 'authentication required', auth.challenge, undefined, true);
      }
      const state = new DavRequestState(services.view, target.path);
      state.expectsContinue = expectsContinue;
      state.bindResponse(res);
      ctx = { req, res, services, state, path: target.path, user };
    } catch (e) {
      refuse(req, res, e, services);
      return;
    }
    const handler = HANDLERS.get(req.method ?? '') ?? handleNotImplemented;
    void runHandler(ctx, handler).then(() => {
      // A handler that returned without answering still ends the exchange.
      if (!res.writableEnded && !res.destroyed) res.end();
    });
  };
}

function observe(
  req: IncomingMessage,
  res: ServerResponse,
  services: DavServices,
  onRequest: (method: string, status: number, seconds: number) => void,
): void {
  const started = performance.now();
  res.once('close', () => {
    const seconds = (performance.now() - started) / 1000;
    try {
      onRequest(req.method ?? '', res.statusCode, seconds);
    } catch (e) {
      services.logger.error({ err: errorFields(e) }, 'webdav: onRequest hook failed');
    }
  });
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
