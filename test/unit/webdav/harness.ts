/** Starts the WebDAV front end over a fresh MemoryView on 127.0.0.1:0 for one tap test. */
import { startWebDav, type WebDavOptions } from '../../../protocols/webdav/index.js';
import { MemoryView } from '../../fixtures/memory-view.js';
import { request, type Reply, type RequestOptions } from '../../helpers/http.js';

export interface Harness {
  readonly url: string;
  readonly view: MemoryView;
  readonly errors: object[];
  /** A request to `path` (sent verbatim, so encoded and odd paths reach the server as written). */
  send(method: string, path: string, opts?: RequestOptions): Promise<Reply>;
  /** PUT a small text body and expect success. */
  put(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<Reply>;
  text(r: Reply): string;
}

interface TapLike {
  teardown(fn: () => unknown): void;
}

export async function startHarness(t: TapLike, extra: Partial<WebDavOptions> = {}): Promise<Harness> {
  const view = new MemoryView();
  const errors: object[] = [];
  const server = await startWebDav({
    view,
    host: '127.0.0.1',
    port: 0,
    logger: { info() {}, warn() {}, error: (o) => errors.push(o) },
    ...extra,
  });
  t.teardown(() => server.close());
  const send = (method: string, path: string, opts: RequestOptions = {}) =>
    request(server.url, { timeoutMs: 20_000, ...opts, method }, path);
  return {
    url: server.url,
    view,
    errors,
    send,
    async put(path, body, headers = {}) {
      const r = await send('PUT', path, { body, headers });
      if (r.status !== 201 && r.status !== 204) throw new Error(`PUT ${path}: ${r.status} ${r.body.toString()}`);
      return r;
    },
    text: (r) => r.body.toString('utf8'),
  };
}

export const XML = { 'Content-Type': 'application/xml; charset=utf-8' };

export function lockBody(scope: 'exclusive' | 'shared', owner = 'litmus-like test'): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">' +
    `<D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype>` +
    `<D:owner>${owner}</D:owner></D:lockinfo>`
  );
}

/** The token from a LOCK response's Lock-Token header. */
export function tokenOf(r: Reply): string {
  const h = r.headers['lock-token'];
  const m = typeof h === 'string' ? /^<(.+)>$/.exec(h) : null;
  if (!m) throw new Error(`no Lock-Token in LOCK response (${r.status})`);
  return m[1]!;
}

/** All DAV:href values of a multistatus body. */
export function hrefs(body: string): string[] {
  return [...body.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!);
}
