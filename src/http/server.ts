import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import type { Store } from '../core/store.js';
import type { MarbleView } from '../fs/view.js';
import type { Metrics } from '../metrics/index.js';
import type { Replicator } from '../replication/replicator.js';
import { MAX_FRAME } from '../replication/wire.js';
import { installAuth, type HttpAuth } from './auth.js';
import { installErrorHandling } from './errors.js';
import { historyRoutes } from './routes/history.js';
import { invitesRoutes } from './routes/invites.js';
import { metricsRoutes } from './routes/metrics.js';
import { pageRoutes } from './routes/page.js';
import { NO_QUERY } from './routes/schemas.js';
import { splitsRoutes } from './routes/splits.js';
import { statusRoutes } from './routes/status.js';
import { SyncProgress } from './status.js';

export { statusOf, type StatusReport } from './status.js';
export type { HttpAuth } from './auth.js';

export interface HttpOptions {
  readonly store: Store;
  readonly replicator?: Replicator;
  readonly view?: MarbleView;
  /** Serves GET /metrics from this registry. */
  readonly metrics?: Metrics;
  /** Base URL of the WebDAV front end, for links to versions. */
  readonly webdavUrl?: string;
  /** Credentials accepted when the API is protected. */
  readonly auth?: HttpAuth;
  /** Protect every route but /health (default: when `host` is not loopback). */
  readonly protect?: boolean;
  readonly host: string;
  readonly port: number;
  /** PEM certificate and key: serve HTTPS (and so wss:// for peers). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly log?: { warn(o: object, m?: string): void; error(o: object, m?: string): void };
}

/**
 * The HTTP API (DESIGN §8): /health, /api/status, /api/peers, /api/splits (+ resolve),
 * /api/history, /api/invites, /metrics, the status page at /, and the peer WebSocket endpoint /peer.
 * Every route validates its input with a JSON schema (400 with a message), unknown routes
 * are a 404 with a message. Beyond loopback, everything but /health and /peer needs a
 * token or a WebDAV user (auth.ts); /peer authenticates peers by their keys.
 */
export async function startHttp(opts: HttpOptions): Promise<{ url: string; app: FastifyInstance; close(): Promise<void> }> {
  // removeAdditional: false, so unknown parameters are refused rather than silently dropped
  const common = { logger: false, bodyLimit: 1024 * 1024, ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } } as const;
  const app = (opts.tls ? Fastify({ ...common, https: { cert: opts.tls.cert, key: opts.tls.key } }) : Fastify(common)) as unknown as FastifyInstance;
  installErrorHandling(app, opts.log);
  const protect = opts.protect ?? !isLoopbackHost(opts.host);
  if (protect) {
    installAuth(app, opts.auth ?? {});
    if (!opts.auth?.token && !opts.auth?.checkUser) opts.log?.warn({ host: opts.host }, 'http: listening beyond loopback without --api-token or --users: every API route answers 401');
  }
  const src = { store: opts.store, replicator: opts.replicator, view: opts.view, webdavUrl: opts.webdavUrl, progress: new SyncProgress() };
  app.get('/health', { schema: NO_QUERY }, async () => ({ ok: true }));
  statusRoutes(app, src);
  pageRoutes(app);
  if (opts.view) {
    splitsRoutes(app, opts.view, opts.webdavUrl);
    historyRoutes(app, opts.view, opts.webdavUrl);
  }
  if (opts.metrics) metricsRoutes(app, opts.metrics);
  if (opts.replicator) {
    const replicator = opts.replicator;
    invitesRoutes(app, replicator, !!opts.tls);
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
  return { url: `${opts.tls ? 'https' : 'http'}://${host}:${port}/`, app, close: () => app.close() };
}

/** 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h) || h === '::ffff:127.0.0.1';
}
