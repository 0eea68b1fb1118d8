import { readFileSync } from 'node:fs';
import { noteActivity } from '../core/buffer-gc.js';
import { Store } from '../core/store.js';
import { MarbleView } from '../fs/view.js';
import { startHttp } from '../http/server.js';
import { createMetrics } from '../metrics/index.js';
import { Replicator } from '../replication/replicator.js';
import { startWebDav, verifyPassword } from '../../protocols/webdav/index.js';
import { startNfs } from '../../protocols/nfs/index.js';
import { createLogger } from './logger.js';
import { resolveSettings, type RawOptions } from './settings.js';
import { loadUsers } from './users.js';

/**
 * `marble serve`: opens the store, serves WebDAV and the HTTP API, and prints the
 * `webdav:`, `http:` and `ready` lines scripts wait for. SIGINT/SIGTERM: commit open
 * writes, close listeners and the database, exit 0.
 */
function loadTls(cert: string | undefined, key: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new Error('TLS needs both --tls-cert and --tls-key');
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

export async function runServe(flags: RawOptions): Promise<void> {
  const s = resolveSettings(flags);
  const log = createLogger(s.logLevel);
  const users = s.users ? loadUsers(s.users) : null;
  const store = Store.open(s.data, {
    name: s.name,
    onNewIdentity: (oldId, newId) => log.warn({ oldId, newId }, 'data directory was copied or moved: this instance now has a new id'),
  });
  if (s.historyKeep !== undefined) store.setConfig('history_keep', String(s.historyKeep));
  const tls = loadTls(s.tlsCert, s.tlsKey);
  const replicator = new Replicator({ store, trusted: s.trust, invites: s.invites, peers: s.peers, log, serverCert: tls?.cert });
  const view = new MarbleView(store, { lastArrival: (id) => replicator.fetcher.lastArrival(id) });
  const metrics = createMetrics({ store, replicator });
  const checkUser = users ? (name: string, password: string) => users.has(name) && verifyPassword(password, users.get(name)!) : undefined;
  const closers: Array<() => Promise<void>> = [];
  try {
    const dav = await startWebDav({ view, host: s.webdav.host, port: s.webdav.port, users, allowInsecureAuth: s.allowInsecureAuth, logger: log, onRequest: metrics.onWebDavRequest, tls });
    closers.push(() => dav.close());
    const http = await startHttp({ store, replicator, view, metrics, webdavUrl: dav.url, auth: { token: s.apiToken, checkUser }, log, host: s.http.host, port: s.http.port, tls });
    closers.push(() => http.close());
    closers.push(() => replicator.close());
    const nfs = await startNfs({ view, host: s.nfs.host, port: s.nfs.port, allow: [...s.nfsAllow], portmap: s.portmap, logger: log.child({ component: 'nfs' }), onCall: metrics.onNfsCall });
    closers.push(() => nfs.close());
    log.info({ id: store.instanceId, name: store.instanceName, fingerprint: store.key.fingerprint, data: s.data, webdav: dav.url, http: http.url, peers: s.peers }, 'serving');
    process.stdout.write(`webdav: ${dav.url}\nhttp: ${http.url}\nnfs: ${hostPort(s.nfs.host, nfs.port)}\nready\n`);
    // Starting leaves garbage behind (compiled modules, migrations): settle once it is quiet.
    noteActivity();
  } catch (e) {
    await shutdown();
    throw e;
  }

  let stopping = false;
  async function shutdown(): Promise<void> {
    for (const close of closers.reverse()) await close().catch((e) => log.error({ err: e }, 'closing'));
    await view.flushAll();
    store.close();
  }
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    shutdown().then(
      () => process.exit(0),
      (e) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
