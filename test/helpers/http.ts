/**
 * Plain HTTP for tests: node:http with the request path sent exactly as given (no URL
 * normalisation, so `/%2e%2e/` and `/../` reach the server as written), streaming bodies, and
 * a deterministic byte generator so large transfers never sit in memory.
 */
import { createCipheriv, createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body, at most `maxBody` bytes of it (the rest is read and dropped). */
  body: Buffer;
  /** Total body bytes received. */
  bodyBytes: number;
  /** The body's sha256 (hex) over all of it. */
  sha256: string;
  /** Milliseconds from the request start to the response headers. */
  headersMs: number;
  ms: number;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /** A whole body, or a stream of it. */
  body?: string | Buffer | Readable;
  /** Keep at most this much of the response body in `body` (default 1 MiB). */
  maxBody?: number;
  /** Abort (reject) after this long (default 120 s). */
  timeoutMs?: number;
  /** No keep-alive agent: each request its own connection (default). */
  agent?: http.Agent | false;
}

/**
 * One request. `target` is either a full URL (its path is used verbatim) or a base URL plus
 * `rawPath`, which is sent byte for byte as the request-target.
 */
export function request(target: string, opts: RequestOptions = {}, rawPath?: string): Promise<Reply> {
  const u = new URL(target);
  const path = rawPath ?? target.slice(target.indexOf('/', u.protocol.length + 2));
  const maxBody = opts.maxBody ?? 1 << 20;
  const t0 = Date.now();
  return new Promise<Reply>((resolve, reject) => {
    let settled = false;
    const done = (e: Error | null, r?: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(r!);
    };
    const headers: Record<string, string | number> = { ...opts.headers };
    if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) {
      headers['Content-Length'] ??= Buffer.byteLength(opts.body);
    }
    const req = http.request({
      host: u.hostname,
      port: u.port,
      method: opts.method ?? 'GET',
      path,
      headers,
      agent: opts.agent ?? false,
    });
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      req.destroy();
      done(new Error(`${opts.method ?? 'GET'} ${path}: no complete response after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => done(new Error(`${opts.method ?? 'GET'} ${path}: ${e.message}`)));
    req.on('response', (res) => {
      const headersMs = Date.now() - t0;
      const hash = createHash('sha256');
      const parts: Buffer[] = [];
      let kept = 0;
      let total = 0;
      res.on('data', (b: Buffer) => {
        hash.update(b);
        total += b.length;
        if (kept < maxBody) {
          const take = b.subarray(0, maxBody - kept);
          parts.push(take);
          kept += take.length;
        }
      });
      res.on('error', (e) => done(e));
      res.on('end', () =>
        done(null, {
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(parts),
          bodyBytes: total,
          sha256: hash.digest('hex'),
          headersMs,
          ms: Date.now() - t0,
        }),
      );
    });
    const body = opts.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      body.on('error', (e) => {
        req.destroy(e);
        done(e);
      });
      body.pipe(req);
    }
  });
}

/** `url` joined with a path of segments, each percent-encoded (so `a#1.txt` stays a name). */
export function davUrl(base: string, ...segments: string[]): string {
  const b = base.endsWith('/') ? base : `${base}/`;
  return b + segments.map((s) => s.split('/').map(encodeURIComponent).join('/')).join('/');
}

/** A request that must answer one of `expect`; rejects with the status and body otherwise. */
export async function expectStatus(what: string, p: Promise<Reply>, ...expect: number[]): Promise<Reply> {
  const r = await p;
  if (!expect.includes(r.status)) {
    throw new Error(`${what}: HTTP ${r.status}, expected ${expect.join(' or ')}: ${r.body.toString('utf8', 0, 800)}`);
  }
  return r;
}

export async function put(url: string, body: string | Buffer | Readable, headers: Record<string, string | number> = {}): Promise<Reply> {
  return expectStatus(`PUT ${url}`, request(url, { method: 'PUT', body, headers }), 200, 201, 204);
}

export async function mkcol(url: string): Promise<Reply> {
  return expectStatus(`MKCOL ${url}`, request(url, { method: 'MKCOL' }), 201);
}

// ---------------------------------------------------------------------------------------------
// deterministic content

/**
 * `size` pseudo-random bytes from `seed` (AES-256-CTR keystream: fast, incompressible, and the
 * same every time), streamed in 1 MiB chunks; `onChunk` sees each chunk (e.g. to hash it).
 */
export function patternStream(size: number, seed: string, onChunk?: (b: Buffer) => void): Readable {
  const key = createHash('sha256').update(`key:${seed}`).digest();
  const iv = createHash('md5').update(`iv:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const zeros = Buffer.alloc(1 << 20);
  let left = size;
  return new Readable({
    highWaterMark: 1 << 20,
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, zeros.length);
      const chunk = cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n));
      left -= n;
      onChunk?.(chunk);
      this.push(chunk);
    },
  });
}

/** The bytes of patternStream(size, seed), for small sizes. */
export async function patternBytes(size: number, seed: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of patternStream(size, seed)) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

/** sha256 of patternStream(size, seed) without sending it anywhere. */
export async function patternSha256(size: number, seed: string): Promise<string> {
  const h = createHash('sha256');
  for await (const b of patternStream(size, seed)) h.update(b as Buffer);
  return h.digest('hex');
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------
// PROPFIND

export interface DavEntry {
  /** The href as sent (percent-encoded). */
  href: string;
  /** Decoded path. */
  path: string;
  isCollection: boolean;
}

/** The responses of a 207 multistatus body, by their hrefs (namespace prefix ignored). */
export function parseMultistatus(xml: string): DavEntry[] {
  const out: DavEntry[] = [];
  for (const m of xml.matchAll(/<(?:[\w.-]+:)?response\b[^>]*>([\s\S]*?)<\/(?:[\w.-]+:)?response>/g)) {
    const inner = m[1]!;
    const h = /<(?:[\w.-]+:)?href\b[^>]*>([\s\S]*?)<\/(?:[\w.-]+:)?href>/.exec(inner);
    if (!h) continue;
    const href = h[1]!.trim().replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    let p = href;
    try {
      p = decodeURIComponent(new URL(href, 'http://x').pathname);
    } catch {
      /* keep as is */
    }
    out.push({ href, path: p, isCollection: /<(?:[\w.-]+:)?collection\s*\/>/.test(inner) });
  }
  return out;
}

/** PROPFIND Depth 1 (allprop) of a collection URL: its children (the collection itself left out). */
export async function listCollection(url: string): Promise<DavEntry[]> {
  const r = await expectStatus(`PROPFIND ${url}`, request(url, { method: 'PROPFIND', headers: { Depth: '1' } }), 207);
  const self = decodeURIComponent(new URL(url).pathname).replace(/\/$/, '');
  return parseMultistatus(r.body.toString('utf8')).filter((e) => e.path.replace(/\/$/, '') !== self);
}

// ---------------------------------------------------------------------------------------------
// oversized bodies

export interface HugeResult {
  status: number;
  ms: number;
  sentBytes: number;
  head: string;
  /** The socket error, if the connection failed (e.g. ECONNRESET: reset before we read an answer). */
  error?: string;
}

/**
 * Streams a PROPFIND with a `total`-byte XML body over a raw socket (Content-Length or
 * chunked), and stops sending as soon as the server answers. A server that waits for the
 * whole body before it says no has to read all of it.
 */
export function hugePropfind(base: string, rawPath: string, total: number, chunked: boolean, timeoutMs = 60_000): Promise<HugeResult> {
  const u = new URL(base);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let got = '';
    let status = 0;
    let sent = 0;
    let finished = false;
    let error: string | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ status, ms: Date.now() - t0, sentBytes: sent, head: got.slice(0, 2000), ...(error ? { error } : {}) });
    };
    const timer = setTimeout(finish, timeoutMs);
    let wake: (() => void) | null = null;
    const poke = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    sock.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      if (m && !status) {
        status = Number(m[1]);
        // read a little of the body for the report, then stop
        setTimeout(finish, 200);
      }
      poke();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
      poke();
    });
    sock.on('close', () => {
      poke();
      // give buffered data a moment (status may already be in `got`)
      setTimeout(finish, 50);
    });
    sock.on('drain', poke);
    sock.on('connect', async () => {
      sock.write(
        `PROPFIND ${rawPath} HTTP/1.1\r\nHost: ${u.host}\r\nDepth: 1\r\nContent-Type: application/xml; charset=utf-8\r\n` +
          (chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${total}\r\n`) +
          '\r\n',
      );
      const open = Buffer.from('<?xml version="1.0" encoding="utf-8"?>\n<D:propfind xmlns:D="DAV:"><D:prop>');
      const filler = Buffer.from('<D:getetag/>'.repeat(Math.floor(65536 / 12)));
      let first = true;
      while (!status && !finished && !sock.destroyed && sent < total) {
        let piece = first ? Buffer.concat([open, filler]) : filler;
        first = false;
        if (piece.length > total - sent) piece = piece.subarray(0, total - sent);
        const frame = chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
        sent += piece.length;
        if (!sock.write(frame)) await new Promise<void>((r) => (wake = r));
      }
      if (chunked && !status && !sock.destroyed && sent >= total) sock.write('0\r\n\r\n');
    });
  });
}

/** How many full (mark-compact) collections a Marble process has run, from its /metrics (`http` = its HTTP API base URL). */
export async function fullCollections(http: string): Promise<number> {
  const r = await request(`${http}metrics`);
  const line = /^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)$/m.exec(r.body.toString());
  return line ? Number(line[1]) : 0;
}
