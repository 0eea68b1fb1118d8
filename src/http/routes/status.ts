import type { FastifyInstance } from 'fastify';
import { statusOf, type StatusSources } from '../status.js';
import { NO_QUERY } from './schemas.js';

/** GET /api/status (everything the status page shows) and GET /api/peers. */
export function statusRoutes(app: FastifyInstance, src: StatusSources): void {
  app.get('/api/status', { schema: NO_QUERY }, async () => statusOf(src));
  app.get('/api/peers', { schema: NO_QUERY }, async () => {
    const s = statusOf({ ...src, progress: undefined });
    return { peers: s.peers, offline: s.offlinePeers };
  });
}
