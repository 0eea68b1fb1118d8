import t from 'tap';
import { startHarness } from './harness.js';

t.test('ETag and Last-Modified drive 304 and 412', async (t) => {
  const h = await startHarness(t);
  await h.put('/f.txt', '0123456789');
  const g = await h.send('GET', '/f.txt');
  const etag = g.headers.etag as string;
  const lm = g.headers['last-modified'] as string;
  t.match(etag, /^"[^"]+"$/, 'strong ETag');
  t.ok(lm && !Number.isNaN(Date.parse(lm)), 'Last-Modified is an HTTP date');

  t.equal((await h.send('GET', '/f.txt', { headers: { 'If-None-Match': etag } })).status, 304);
  t.equal((await h.send('GET', '/f.txt', { headers: { 'If-None-Match': `"nope", ${etag}` } })).status, 304);
  t.equal((await h.send('HEAD', '/f.txt', { headers: { 'If-None-Match': '*' } })).status, 304);
  t.equal((await h.send('GET', '/f.txt', { headers: { 'If-None-Match': '"other"' } })).status, 200);
  t.equal((await h.send('GET', '/f.txt', { headers: { 'If-Modified-Since': lm } })).status, 304);
  const earlier = new Date(Date.parse(lm) - 60_000).toUTCString();
  t.equal((await h.send('GET', '/f.txt', { headers: { 'If-Modified-Since': earlier } })).status, 200);
  t.equal((await h.send('GET', '/f.txt', { headers: { 'If-Match': '"other"' } })).status, 412);
  t.equal((await h.send('GET', '/f.txt', { headers: { 'If-Match': etag } })).status, 200);
  t.equal((await h.send('GET', '/f.txt', { headers: { 'If-Unmodified-Since': earlier } })).status, 412);

  t.equal((await h.send('PUT', '/f.txt', { body: 'x', headers: { 'If-Match': '"stale"' } })).status, 412);
  t.equal((await h.send('PUT', '/f.txt', { body: 'x', headers: { 'If-None-Match': '*' } })).status, 412, 'create-only PUT on an existing file');
  t.equal((await h.send('PUT', '/new.txt', { body: 'x', headers: { 'If-None-Match': '*' } })).status, 201);
  t.equal((await h.send('PUT', '/absent.txt', { body: 'x', headers: { 'If-Match': '*' } })).status, 412, 'If-Match: * needs an existing file');
  const ok = await h.send('PUT', '/f.txt', { body: 'new', headers: { 'If-Match': etag } });
  t.equal(ok.status, 204);
  t.not(ok.headers.etag, etag, 'a new ETag after the content changed');
  t.equal((await h.send('PUT', '/f.txt', { body: 'again', headers: { 'If-Match': etag } })).status, 412, 'the old ETag no longer matches');
  t.equal((await h.send('DELETE', '/f.txt', { headers: { 'If-Match': etag } })).status, 412, 'DELETE checks If-Match too');
  t.equal((await h.send('PROPPATCH', '/f.txt', { headers: { 'If-Match': etag }, body: '<x/>' })).status, 412, 'so does PROPPATCH');
  t.equal((await h.send('MOVE', '/f.txt', { headers: { 'If-Match': etag, Destination: `${h.url}g` } })).status, 412, 'and MOVE');
  t.equal((await h.send('GET', '/f.txt')).status, 200, 'still there');
  const current = (await h.send('HEAD', '/f.txt')).headers.etag as string;
  t.equal((await h.send('DELETE', '/f.txt', { headers: { 'If-Match': current } })).status, 204);
});

t.test('Range: 206 for one range, 416 past the end, whole file for several', async (t) => {
  const h = await startHarness(t);
  await h.put('/r.bin', '0123456789');
  const p = await h.send('GET', '/r.bin', { headers: { Range: 'bytes=2-5' } });
  t.equal(p.status, 206);
  t.equal(h.text(p), '2345');
  t.equal(p.headers['content-range'], 'bytes 2-5/10');
  t.equal(p.headers['content-length'], '4');
  t.equal(h.text(await h.send('GET', '/r.bin', { headers: { Range: 'bytes=7-' } })), '789');
  t.equal(h.text(await h.send('GET', '/r.bin', { headers: { Range: 'bytes=-3' } })), '789');
  t.equal(h.text(await h.send('GET', '/r.bin', { headers: { Range: 'bytes=8-100' } })), '89', 'end clamped to the size');
  const past = await h.send('GET', '/r.bin', { headers: { Range: 'bytes=10-20' } });
  t.equal(past.status, 416);
  t.equal(past.headers['content-range'], 'bytes */10');
  for (const bad of ['bytes=5-2', 'bytes=abc', 'bytes=', 'bytes=-0']) {
    const r = await h.send('GET', '/r.bin', { headers: { Range: bad } });
    t.equal(r.status, 416, `malformed ${bad}: 416`);
  }
  const multi = await h.send('GET', '/r.bin', { headers: { Range: 'bytes=0-1,4-5' } });
  t.equal(multi.status, 200, 'several ranges: the whole file');
  t.equal(h.text(multi), '0123456789');
  t.equal((await h.send('GET', '/r.bin', { headers: { Range: 'items=0-1' } })).status, 200, 'unknown unit ignored');
  const etag = (await h.send('HEAD', '/r.bin')).headers.etag as string;
  t.equal((await h.send('GET', '/r.bin', { headers: { Range: 'bytes=0-1', 'If-Range': etag } })).status, 206);
  t.equal((await h.send('GET', '/r.bin', { headers: { Range: 'bytes=0-1', 'If-Range': '"old"' } })).status, 200);
  await h.put('/empty', '');
  t.equal((await h.send('GET', '/empty', { headers: { Range: 'bytes=0-' } })).status, 416, 'any range of an empty file');
  t.equal((await h.send('GET', '/empty')).status, 200);
});
