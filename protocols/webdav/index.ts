import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { BasicAuthentication } from './auth/basic-auth.js';
import type { DavServices } from './dav-context.js';
import { LockTable } from './locks/lock-table.js';
import { DEFAULT_MAX_XML_BYTES, silentLogger, type WebDavOptions } from './options.js';
import { createRequestListener } from './request-listener.js';

export type { Logger, WebDavOptions } from './options.js';
export { hashPassword, verifyPassword } from './auth/users.js';

export interface WebDavServerHandle {
  /** Collection URL of the tree, e.g. http://127.0.0.1:8437/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Loopback: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * Serves the view over WebDAV (class 1 and 2) on host:port (port 0 picks a free one).
 * Refuses to start with Basic authentication on a non-loopback address without TLS unless
 * allowInsecureAuth is set: passwords would cross the network in clear text.
 */
export async function startWebDav(opts: WebDavOptions): Promise<WebDavServerHandle> {
  const logger = opts.logger ?? silentLogger;
  const users = opts.users && opts.users.size > 0 ? opts.users : null;
  if (users && !opts.tls && !isLoopback(opts.host) && !opts.allowInsecureAuth) {
    throw new Error(
      `WEBDAV_INSECURE_AUTH: refusing Basic authentication on ${opts.host} without TLS; ` +
        'bind to 127.0.0.1, configure TLS, or force allowInsecureAuth',
    );
  }
  if (!users && !isLoopback(opts.host)) {
    logger.warn({ host: opts.host }, 'webdav: serving without authentication on a non-loopback address');
  }
  const services: DavServices = {
    view: opts.view,
    locks: new LockTable(),
    logger,
    maxXmlBytes: opts.maxXmlBytes ?? DEFAULT_MAX_XML_BYTES,
  };
  const auth = users ? new BasicAuthentication(users) : null;
  const listener = createRequestListener(services, auth, opts.onRequest);
  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }) : http.createServer();
  server.on('request', (req, res) => listener(req, res));
  // Answer 100-continue ourselves, only when a handler starts reading the body.
  server.on('checkContinue', (req, res) => listener(req, res, true));
  server.requestTimeout = 0; // large uploads may take longer than Node's 300 s default
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 10_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => logger.error({ err: { message: e.message } }, 'webdav: server error'));
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = isIP(opts.host) === 6 ? `[${opts.host}]` : opts.host;
  const url = `${opts.tls ? 'https' : 'http'}://${hostInUrl}:${port}/`;
  logger.info({ url, auth: users !== null }, 'webdav: listening');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
