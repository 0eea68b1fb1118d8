import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics/index.js';
import { NO_QUERY } from './schemas.js';

/** GET /metrics in the Prometheus text format. */
export function metricsRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { schema: NO_QUERY }, async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
}
