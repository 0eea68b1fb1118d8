import http from 'node:http';
import t from 'tap';
import type { WriteFileOptions } from '../../../src/fs/types.js';
import { startHarness } from './harness.js';

t.test('PUT streams the body to view.writeFile, chunked as Finder sends it', async (t) => {
  const h = await startHarness(t);
  const seen: { opts: WriteFileOptions | undefined; chunksBeforeEnd: number }[] = [];
  const original = h.view.writeFile.bind(h.view);
  let clientFinished = false;
  h.view.writeFile = async (path, body, opts) => {
    let beforeEnd = 0;
    const tap = (async function* () {
      for await (const c of body) {
        if (!clientFinished) beforeEnd++;
        yield c;
      }
    })();
    const r = await original(path, tap, opts);
    seen.push({ opts, chunksBeforeEnd: beforeEnd });
    return r;
  };
  const u = new URL(h.url);
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'PUT', path: '/chunked.bin' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    t.equal(req.getHeader('content-length'), undefined, 'no Content-Length: chunked transfer');
    let i = 0;
    const next = () => {
      if (i++ < 5) {
        req.write(Buffer.alloc(1000, i));
        setTimeout(next, 20);
      } else {
        clientFinished = true;
        req.end();
      }
    };
    next();
  });
  t.equal(status, 201);
  t.ok(seen[0]!.chunksBeforeEnd >= 2, `the view received chunks while the client was still sending (${seen[0]!.chunksBeforeEnd})`);
  t.equal(seen[0]!.opts?.expectedSize, undefined, 'no expected size for a chunked body');
  const g = await h.send('GET', '/chunked.bin');
  t.equal(g.bodyBytes, 5000);

  await h.send('PUT', '/sized', { body: Buffer.alloc(1234) });
  t.equal(seen[1]!.opts?.expectedSize, 1234, 'Content-Length becomes expectedSize');
  const etag = (await h.send('HEAD', '/sized')).headers.etag as string;
  await h.send('PUT', '/sized', { body: 'x', headers: { 'If-Match': etag } });
  t.equal(seen[2]!.opts?.ifContentTag, etag.slice(1, -1), 'If-Match becomes ifContentTag (checked again at commit)');
  await h.send('PUT', '/created', { body: 'x', headers: { 'If-None-Match': '*' } });
  t.equal(seen[3]!.opts?.mode, 'create', "If-None-Match: * becomes mode 'create'");
});

t.test('Expect: 100-continue is answered only when the body is wanted', async (t) => {
  const h = await startHarness(t);
  const u = new URL(h.url);
  const put = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = http.request({ host: u.hostname, port: u.port, method: 'PUT', path, headers: { Expect: '100-continue', 'Content-Length': 3, ...headers } });
      req.on('continue', () => {
        continued = true;
        req.end('abc');
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, continued });
        req.destroy();
      });
      req.on('error', reject);
    });
  t.same(await put('/ok'), { status: 201, continued: true });
  t.same(await put('/ok', { 'If-Match': '"stale"' }), { status: 412, continued: false }, 'refused before the body is sent');
  t.same(await put('/no/parent'), { status: 409, continued: false }, 'a missing parent is refused before the body is pulled');
  await h.send('MKCOL', '/d');
  t.same(await put('/d'), { status: 405, continued: false }, 'so is a folder');
});
