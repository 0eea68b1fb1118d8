/**
 * A TCP proxy in the test process for one peer link (dialer → proxy → target's HTTP port),
 * modelled on ../shared/tools/sync/count-proxy.js, that can be cut and restored: a network
 * partition without restarting either instance. While cut, open connections are destroyed
 * and new ones are accepted and closed at once (the dialer sees a failed connection and
 * backs off, as it would on a real outage).
 */
import net from 'node:net';
import type { Teardown } from './marble.js';

export interface LinkProxy {
  /** The loopback port dialers connect to. */
  readonly port: number;
  readonly isCut: boolean;
  /** Connections opened through the proxy since it started. */
  readonly connections: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startLinkProxy(t: Teardown, targetPort: number, host = '127.0.0.1'): Promise<LinkProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let isCut = false;
  let connections = 0;
  const server = net.createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = net.connect(targetPort, host);
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let closed = false;
  const proxy: LinkProxy = {
    port,
    get isCut() {
      return isCut;
    },
    get connections() {
      return connections;
    },
    cut() {
      isCut = true;
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
    },
    restore() {
      isCut = false;
    },
    async close() {
      if (closed) return;
      closed = true;
      proxy.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  t.teardown(() => proxy.close());
  return proxy;
}
