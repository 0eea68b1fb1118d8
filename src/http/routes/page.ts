import type { FastifyInstance } from 'fastify';
import { STATUS_PAGE } from '../status-page.js';
import { NO_QUERY } from './schemas.js';

/** GET /: the status page. */
export function pageRoutes(app: FastifyInstance): void {
  app.get('/', { schema: NO_QUERY }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'").send(STATUS_PAGE),
  );
}
