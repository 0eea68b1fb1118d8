import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { encodeInvite } from '../../replication/invites.js';
import type { Replicator } from '../../replication/replicator.js';
import { NO_QUERY } from './schemas.js';

const HOUR_MS = 3600_000;

export interface InviteReport {
  readonly code: string;
  readonly url: string;
  readonly fingerprint: string;
  readonly expiresAt: string;
}

/**
 * POST /api/invites: a one-time invite code for another instance (`marble join CODE`). The
 * code names this instance's peer endpoint: `url` if given, else the address the HTTP server
 * listens on (this machine's host name when it listens on every interface).
 */
export function invitesRoutes(app: FastifyInstance, replicator: Replicator, tls: boolean): void {
  app.post<{ Body: { url?: string; validHours?: number } }>(
    '/api/invites',
    {
      schema: {
        ...NO_QUERY,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            url: { type: 'string', minLength: 6, maxLength: 2048, pattern: '^wss?://' },
            validHours: { type: 'number', exclusiveMinimum: 0, maximum: 24 * 30 },
          },
        },
      },
    },
    async (req): Promise<InviteReport> => {
      const { secret, expiresAt } = replicator.invites.create((req.body?.validHours ?? 24) * HOUR_MS);
      const url = req.body?.url ?? ownPeerUrl(app, tls);
      const fingerprint = replicator.store.key.fingerprint;
      return { code: encodeInvite({ url, fingerprint, secret }), url, fingerprint, expiresAt: new Date(expiresAt).toISOString() };
    },
  );
}

function ownPeerUrl(app: FastifyInstance, tls: boolean): string {
  const addr = app.server.address();
  if (!addr || typeof addr !== 'object') throw new Error('the HTTP server has no address');
  const any = addr.address === '0.0.0.0' || addr.address === '::';
  const host = any ? hostname() : addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return `${tls ? 'wss' : 'ws'}://${host}:${addr.port}/peer`;
}
