import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import type { Store } from '../core/store.js';
import { isFsError } from '../fs/errors.js';
import type { MarbleView } from '../fs/view.js';
import type { PeerStatus, Replicator } from '../replication/replicator.js';
import { MAX_FRAME } from '../replication/wire.js';

export interface HttpOptions {
  readonly store: Store;
  readonly replicator?: Replicator;
  readonly view?: MarbleView;
  readonly host: string;
  readonly port: number;
}

export interface StatusReport {
  readonly id: string;
  readonly name: string;
  readonly dataDir: string;
  readonly blobs: number;
  readonly blobBytes: number;
  readonly changes: number;
  readonly splits: number;
  readonly historyKeep: number;
  readonly fingerprint: string;
  readonly peers: PeerStatus[];
  readonly missing: number;
  readonly queuedDownloads: number;
  readonly bytesToFetch: number;
}

export function statusOf(store: Store, replicator?: Replicator): StatusReport {
  const stats = store.stats();
  const fetch = replicator?.fetcher.stats();
  return {
    id: store.instanceId,
    name: store.instanceName,
    fingerprint: store.key.fingerprint,
    dataDir: store.dataDir,
    ...stats,
    splits: store.splitNodeIds().size,
    historyKeep: store.historyRetention,
    peers: replicator?.peers() ?? [],
    missing: store.missingList().length,
    queuedDownloads: fetch?.queued ?? 0,
    bytesToFetch: fetch?.bytesToFetch ?? 0,
  };
}

/** The HTTP API (health and status for now; the peer endpoint and metrics join it later). */
export async function startHttp(opts: HttpOptions): Promise<{ url: string; app: FastifyInstance; close(): Promise<void> }> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.get('/health', async () => ({ ok: true }));
  app.get('/api/status', async () => statusOf(opts.store, opts.replicator));
  if (opts.view) {
    const view = opts.view;
    app.get('/api/splits', async () => {
      const instances = (await view.list('/.splits')).entries.map((e) => e.name);
      return { instances };
    });
    app.post<{ Body: { path: string; keep: string } }>(
      '/api/splits/resolve',
      {
        schema: {
          body: {
            type: 'object',
            required: ['path', 'keep'],
            additionalProperties: false,
            properties: { path: { type: 'string', minLength: 1, maxLength: 4096, pattern: '^/' }, keep: { type: 'string', minLength: 1, maxLength: 200 } },
          },
        },
      },
      async (req, reply) => {
        try {
          const entry = await view.keepVersion(req.body.path, req.body.keep);
          return { kept: req.body.keep, path: req.body.path, version: entry.versionTag };
        } catch (e) {
          if (isFsError(e, 'MARBLE_NOT_FOUND')) return reply.code(404).send({ error: e.code, message: e.message });
          if (isFsError(e)) return reply.code(409).send({ error: e.code, message: e.message });
          throw e;
        }
      },
    );
  }
  if (opts.replicator) {
    const replicator = opts.replicator;
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, perMessageDeflate: false });
    app.server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/peer') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => replicator.accept(ws));
    });
    app.addHook('preClose', async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
    });
  }
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { url: `http://${host}:${port}/`, app, close: () => app.close() };
}
