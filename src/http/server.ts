import Fastify, { type FastifyInstance } from 'fastify';
import type { Store } from '../core/store.js';

export interface HttpOptions {
  readonly store: Store;
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
}

export function statusOf(store: Store): StatusReport {
  const stats = store.stats();
  return {
    id: store.instanceId,
    name: store.instanceName,
    dataDir: store.dataDir,
    ...stats,
    splits: store.splitNodeIds().size,
    historyKeep: store.historyRetention,
  };
}

/** The HTTP API (health and status for now; the peer endpoint and metrics join it later). */
export async function startHttp(opts: HttpOptions): Promise<{ url: string; app: FastifyInstance; close(): Promise<void> }> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.get('/health', async () => ({ ok: true }));
  app.get('/api/status', async () => statusOf(opts.store));
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { url: `http://${host}:${port}/`, app, close: () => app.close() };
}
