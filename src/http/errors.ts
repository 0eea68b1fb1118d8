import type { FastifyError, FastifyInstance } from 'fastify';
import { isFsError } from '../fs/errors.js';

/** Error body of every route: a stable code to search for and a message saying what to do. */
export interface ApiError {
  readonly error: string;
  readonly message: string;
}

const FS_STATUS: Record<string, number> = {
  MARBLE_NOT_FOUND: 404,
  MARBLE_GONE: 410,
  MARBLE_INVALID_NAME: 400,
  MARBLE_IS_DIR: 400,
  MARBLE_NOT_DIR: 400,
  MARBLE_CONTENT_UNAVAILABLE: 503,
};

/** The one place errors become HTTP statuses for the API (schema, parser, fs, anything else). */
export function installErrorHandling(app: FastifyInstance, log?: { error(o: object, m?: string): void }): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      const extra = err.validation[0]?.params?.additionalProperty;
      const message = `${req.method} ${routeOf(req.url)}: ${err.message}${typeof extra === 'string' ? ` ('${extra.slice(0, 100)}')` : ''}`;
      return reply.code(400).send({ error: 'MARBLE_BAD_REQUEST', message } satisfies ApiError);
    }
    if (isFsError(err)) return reply.code(FS_STATUS[err.code] ?? 409).send({ error: err.code, message: err.message } satisfies ApiError);
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const hint = status === 415 ? '; send a JSON body with Content-Type: application/json' : '';
      return reply.code(status).send({ error: err.code ?? 'MARBLE_BAD_REQUEST', message: `${req.method} ${routeOf(req.url)}: ${err.message}${hint}` } satisfies ApiError);
    }
    log?.error({ err, url: routeOf(req.url) }, 'http: request failed');
    return reply.code(500).send({ error: 'MARBLE_INTERNAL', message: 'internal error; see the instance log' } satisfies ApiError);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: 'MARBLE_NO_ROUTE',
      message: `no route ${req.method} ${routeOf(req.url)}; the API has GET /health, /api/status, /api/peers, /api/splits, /api/history?path=, /metrics and POST /api/splits/resolve`,
    } satisfies ApiError),
  );
}

/** The path without the query (which may hold a file path: not for logs). */
function routeOf(url: string): string {
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).slice(0, 200);
}
