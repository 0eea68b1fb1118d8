import http from 'node:http';
import t from 'tap';
import { FsError, type FsErrorCode } from '../../../src/fs/errors.js';
import { hugePropfind } from '../../helpers/http.js';
import { startHarness, XML, type Harness } from './harness.js';

async function alive(t: { equal(a: unknown, b: unknown, m: string): unknown }, h: Harness, after: string): Promise<void> {
  const r = await h.send('GET', '/alive.txt');
  t.equal(r.status, 200, `still serving after ${after}`);
}

t.test('malformed XML, DOCTYPE, external entities and entity expansion: 400', async (t) => {
  const h = await startHarness(t);
  await h.put('/alive.txt', 'yes');
  const bodies: Record<string, string> = {
    unclosed: '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag></D:prop>',
    'not xml': 'this is { not xml ]]> at all',
    'unbound prefix': '<X:propfind><X:allprop/></X:propfind>',
    'empty prefix binding': '<propfind xmlns="DAV:"><prop><bar:foo xmlns:bar=""/></prop></propfind>',
    xxe: '<?xml version="1.0"?><!DOCTYPE D:propfind [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&xxe;</D:displayname></D:prop></D:propfind>',
    'billion laughs':
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol3;</D:displayname></D:prop></D:propfind>',
    'undefined entity': '<D:propfind xmlns:D="DAV:"><D:prop><D:x>&nope;</D:x></D:prop></D:propfind>',
    'two roots': '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind><D:propfind xmlns:D="DAV:"/>',
    'wrong root': '<D:lockinfo xmlns:D="DAV:"/>',
  };
  for (const [name, body] of Object.entries(bodies)) {
    const r = await h.send('PROPFIND', '/alive.txt', { body, headers: { ...XML, Depth: '0' } });
    t.equal(r.status, 400, `PROPFIND ${name}: 400`);
    t.notMatch(h.text(r), /root:x:0/, 'no file content leaks');
  }
  const pp = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Z:x xmlns:Z="urn:z">&e;</Z:x></D:prop></D:set></D:propertyupdate>';
  t.equal((await h.send('PROPPATCH', '/alive.txt', { body: pp, headers: XML })).status, 400);
  t.equal((await h.view.getProps('/alive.txt')).size, 0, 'nothing stored');
  t.equal((await h.send('LOCK', '/alive.txt', { body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope>', headers: XML })).status, 400);
  t.equal((await h.send('PUT', '/alive.txt', { body: 'still unlocked' })).status, 204, 'a refused LOCK leaves no lock');
  await alive(t, h, 'bad XML');
});

t.test('a 100 MB PROPFIND body is refused at once with 413, without reading it', async (t) => {
  const h = await startHarness(t);
  await h.put('/alive.txt', 'yes');
  const total = 100_000_000;
  for (const chunked of [false, true]) {
    const how = chunked ? 'chunked' : 'Content-Length';
    const r = await hugePropfind(h.url, '/', total, chunked);
    t.equal(r.status, 413, `${how}: 413 (${r.error ?? 'answered'})`);
    t.ok(r.ms < 2000, `${how}: answered in ${r.ms} ms`);
    t.ok(r.sentBytes < 20_000_000, `${how}: refused after ${(r.sentBytes / 1e6).toFixed(1)} MB of 100 were sent`);
    await alive(t, h, `a 100 MB PROPFIND (${how})`);
  }
  const before = process.memoryUsage().rss;
  await hugePropfind(h.url, '/', total, false);
  t.ok(process.memoryUsage().rss - before < 50 * 1024 * 1024, 'memory did not grow by the announced size');
});

t.test('traversal and malformed paths: 400, nothing outside the tree', async (t) => {
  const h = await startHarness(t);
  await h.put('/alive.txt', 'yes');
  for (const p of ['/../etc/passwd', '/a/../../x', '/%2e%2e/%2e%2e/etc/passwd', '/%2E%2E/x', '/a%2F..%2F..%2Fetc', '/a%2fb', '/x%00y', '/%zz', '/./alive.txt', '/#frag']) {
    for (const m of ['GET', 'PUT', 'PROPFIND', 'DELETE', 'MKCOL']) {
      const r = await h.send(m, p, m === 'PUT' ? { body: 'x' } : {});
      t.equal(r.status, 400, `${m} ${p}: 400`);
    }
  }
  const dest = await h.send('COPY', '/alive.txt', { headers: { Destination: `${h.url}%2e%2e/escape` } });
  t.equal(dest.status, 400, 'traversal in Destination: 400');
  const moved = await h.send('MOVE', '/alive.txt', { headers: { Destination: 'http://elsewhere/../../x' } });
  t.equal(moved.status, 400, 'traversal in a Destination URL: 400');
  t.equal((await h.view.list('/')).entries.length, 1, 'nothing was created');
  await alive(t, h, 'traversal attempts');
});

t.test('invalid headers: Depth, Overwrite, Timeout, Content-Length', async (t) => {
  const h = await startHarness(t);
  await h.put('/alive.txt', 'yes');
  t.equal((await h.send('PROPFIND', '/', { headers: { Depth: 'banana' } })).status, 400);
  t.equal((await h.send('COPY', '/alive.txt', { headers: { Destination: `${h.url}c`, Overwrite: 'maybe' } })).status, 400);
  t.equal((await h.send('LOCK', '/alive.txt', { body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>', headers: { ...XML, Timeout: 'Never-ever' } })).status, 200, 'an unknown Timeout falls back to the default');
  t.equal((await h.send('REPORT', '/')).status, 501, 'a known HTTP method we do not serve');
  t.equal((await h.send('FROBNICATE', '/')).status, 400, 'not an HTTP method at all (refused by the parser)');
  t.equal((await h.send('POST', '/alive.txt', { body: 'x' })).status, 501, 'POST is not an alias of PUT');
  await alive(t, h, 'bad headers');
});

t.test('domain errors map to statuses; unexpected errors are 500 and logged; the server keeps serving', async (t) => {
  const h = await startHarness(t);
  await h.put('/alive.txt', 'yes');
  await h.put('/f', 'data');
  const cases: [FsErrorCode, number][] = [
    ['MARBLE_NOT_FOUND', 404],
    ['MARBLE_READ_ONLY', 403],
    ['MARBLE_INVALID_NAME', 400],
    ['MARBLE_NO_SPACE', 507],
    ['MARBLE_CONTENT_UNAVAILABLE', 503],
    ['MARBLE_GONE', 410],
    ['MARBLE_TOO_LARGE', 413],
    ['MARBLE_IS_DIR', 409],
  ];
  for (const [code, status] of cases) {
    h.view.inject = (op) => {
      if (op === 'openRead') throw new FsError(code, 'injected');
    };
    const r = await h.send('GET', '/f');
    t.equal(r.status, status, `${code} -> ${status}`);
    if (code === 'MARBLE_CONTENT_UNAVAILABLE') t.ok(Number(r.headers['retry-after']) > 0, 'Retry-After');
  }
  h.view.inject = (op) => {
    if (op === 'writeFile') throw new FsError('MARBLE_NO_SPACE', 'disk full');
  };
  t.equal((await h.send('PUT', '/f', { body: 'more' })).status, 507, 'PUT on a full disk: 507');
  h.view.inject = (op) => {
    if (op === 'list') throw new TypeError('a bug in the view');
  };
  const before = h.errors.length;
  t.equal((await h.send('PROPFIND', '/', { headers: { Depth: '1' } })).status, 500);
  t.equal(h.errors.length, before + 1, 'the unexpected error was logged');
  t.match(JSON.stringify(h.errors.at(-1)), /a bug in the view/);
  h.view.inject = (op) => {
    if (op === 'stat' || op === 'openRead') throw new RangeError(`${op} exploded`);
  };
  t.equal((await h.send('GET', '/f')).status, 500, 'a failure in the first lookup is a 500 too');
  t.equal((await h.send('HEAD', '/f')).status, 500, 'also from stat');
  h.view.inject = null;
  await alive(t, h, 'handler exceptions');
});

t.test('a client that disconnects mid-upload commits nothing and does not hurt the server', async (t) => {
  const h = await startHarness(t);
  await h.put('/alive.txt', 'yes');
  await new Promise<void>((resolve) => {
    const u = new URL(h.url);
    const req = http.request({ host: u.hostname, port: u.port, method: 'PUT', path: '/partial', headers: { 'Content-Length': 1000 } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(100));
    setTimeout(() => {
      req.destroy();
      setTimeout(resolve, 100);
    }, 100);
  });
  t.equal((await h.send('GET', '/partial')).status, 404, 'no half file');
  await alive(t, h, 'a dropped upload');
});
