import t from 'tap';
import { hrefs, startHarness } from './harness.js';

t.test('OPTIONS advertises class 1 and 2 and no CORS wildcard', async (t) => {
  const h = await startHarness(t);
  const r = await h.send('OPTIONS', '/');
  t.equal(r.status, 200);
  t.match(r.headers['dav'], /\b1\b.*\b2\b/);
  t.match(r.headers['allow'], /PROPFIND/);
  t.equal(r.headers['access-control-allow-origin'], undefined, 'no Access-Control-Allow-Origin: *');
});

t.test('PUT creates (201) then replaces (204); GET and HEAD return it', async (t) => {
  const h = await startHarness(t);
  const a = await h.send('PUT', '/a.txt', { body: 'one' });
  t.equal(a.status, 201);
  t.ok(a.headers.etag, 'PUT answers an ETag');
  const b = await h.send('PUT', '/a.txt', { body: 'two!' });
  t.equal(b.status, 204);
  const g = await h.send('GET', '/a.txt');
  t.equal(g.status, 200);
  t.equal(h.text(g), 'two!');
  t.equal(g.headers['content-length'], '4');
  t.equal(g.headers['content-type'], 'text/plain; charset=utf-8');
  const head = await h.send('HEAD', '/a.txt');
  t.equal(head.status, 200);
  t.equal(head.headers['content-length'], '4');
  t.equal(head.headers.etag, g.headers.etag);
  t.equal(head.bodyBytes, 0);
  t.equal((await h.send('GET', '/missing')).status, 404);
  t.equal((await h.send('PUT', '/no/such/parent.txt', { body: 'x' })).status, 409, 'PUT with a missing parent: 409');
});

t.test('MKCOL: 201, 405 if it exists, 409 without parent, 415 with a body', async (t) => {
  const h = await startHarness(t);
  t.equal((await h.send('MKCOL', '/d')).status, 201);
  t.equal((await h.send('MKCOL', '/d')).status, 405);
  await h.put('/f', 'x');
  t.equal((await h.send('MKCOL', '/f')).status, 405, 'over a file: 405');
  t.equal((await h.send('MKCOL', '/x/y')).status, 409);
  t.equal((await h.send('MKCOL', '/f/y')).status, 409, 'parent is a file: 409');
  t.equal((await h.send('MKCOL', '/e', { body: '<x/>', headers: { 'Content-Type': 'text/xml' } })).status, 415);
  t.equal((await h.send('PROPFIND', '/e', { headers: { Depth: '0' } })).status, 404, 'nothing made by the refused MKCOL');
});

t.test('DELETE removes files and whole folders', async (t) => {
  const h = await startHarness(t);
  await h.send('MKCOL', '/d');
  await h.put('/d/f', 'x');
  t.equal((await h.send('DELETE', '/d')).status, 204);
  t.equal((await h.send('GET', '/d/f')).status, 404);
  t.equal((await h.send('DELETE', '/d')).status, 404);
  t.equal((await h.send('DELETE', '/')).status, 403, 'the root cannot be deleted');
});

t.test('COPY and MOVE with Overwrite and Depth', async (t) => {
  const h = await startHarness(t);
  const dest = (p: string) => ({ Destination: h.url.replace(/\/$/, '') + p });
  await h.send('MKCOL', '/src');
  await h.put('/src/a', 'A');
  await h.send('MKCOL', '/src/sub');
  await h.put('/src/sub/b', 'B');
  t.equal((await h.send('COPY', '/src', { headers: dest('/deep') })).status, 201);
  t.equal(h.text(await h.send('GET', '/deep/sub/b')), 'B');
  t.equal((await h.send('COPY', '/src', { headers: { ...dest('/shallow'), Depth: '0' } })).status, 201);
  t.equal((await h.send('GET', '/shallow/a')).status, 404, 'Depth 0 copies the folder alone');
  t.equal((await h.send('COPY', '/src', { headers: { ...dest('/x'), Depth: '1' } })).status, 400);
  t.equal((await h.send('COPY', '/src/a', { headers: { ...dest('/deep/a'), Overwrite: 'F' } })).status, 412);
  t.equal((await h.send('COPY', '/src/a', { headers: dest('/deep/sub') })).status, 204, 'file over a folder replaces it');
  t.equal(h.text(await h.send('GET', '/deep/sub')), 'A');
  t.equal((await h.send('COPY', '/src/a', { headers: dest('/nowhere/a') })).status, 409);
  t.equal((await h.send('COPY', '/src', { headers: dest('/src/sub/in') })).status, 403, 'into itself');
  t.equal((await h.send('COPY', '/src/a', { headers: dest('/src/a') })).status, 403, 'onto itself');
  t.equal((await h.send('COPY', '/src/a', {})).status, 400, 'no Destination');
  t.equal((await h.send('MOVE', '/src', { headers: dest('/moved') })).status, 201);
  t.equal((await h.send('GET', '/src/a')).status, 404);
  t.equal(h.text(await h.send('GET', '/moved/sub/b')), 'B');
  t.equal((await h.send('MOVE', '/moved', { headers: { ...dest('/deep'), Overwrite: 'F' } })).status, 412);
  t.equal((await h.send('MOVE', '/moved', { headers: dest('/deep') })).status, 204, 'over an existing folder');
  t.equal((await h.send('GET', '/deep/a')).status, 200);
  t.equal((await h.send('GET', '/deep/sub/b')).status, 200, 'the old destination content is gone, the new one is there');
});

t.test('names with awkward characters: encoded hrefs, decoded once', async (t) => {
  const h = await startHarness(t);
  await h.send('MKCOL', '/odd%20names');
  const names = ['a b.txt', 'a#1.txt', '100%.txt', 'ünï €.txt', 'x&y;z+w=v.txt', "q'(x)*!.txt"];
  for (const n of names) await h.put(`/odd%20names/${encodeURIComponent(n)}`, n);
  const r = await h.send('PROPFIND', '/odd%20names/', { headers: { Depth: '1' } });
  t.equal(r.status, 207);
  const listed = hrefs(h.text(r));
  t.equal(listed.length, names.length + 1);
  for (const href of listed) {
    t.notMatch(href, /[ #&;+=]/, `href ${href} percent-encodes reserved characters`);
    const name = decodeURIComponent(href.split('/').filter(Boolean).pop()!);
    if (name !== 'odd names') t.ok(names.includes(name), `${name} round-trips`);
  }
  t.equal(h.text(await h.send('GET', '/odd%20names/a%231.txt')), 'a#1.txt', '# is a name character, not a fragment');
  t.equal(h.text(await h.send('GET', '/odd%20names/100%25.txt')), '100%.txt', 'decoded exactly once');
  t.equal((await h.send('GET', '/odd%20names/100%2525.txt')).status, 404, '%2525 is "%25", not "%"');
  await h.put('/%2541', 'literal %41');
  t.equal((await h.send('GET', '/A')).status, 404, '%2541 did not become A');
  t.equal(h.text(await h.send('GET', '/%2541')), 'literal %41');
});

t.test('GET on a folder gives an HTML index', async (t) => {
  const h = await startHarness(t);
  await h.send('MKCOL', '/d');
  await h.put('/d/a%3Cb', 'x');
  const r = await h.send('GET', '/d/');
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /text\/html/);
  t.match(h.text(r), /a&lt;b/);
  t.notMatch(h.text(r), /a<b/);
});

t.test('GET and HEAD: 404 below a file or for nothing; PUT onto a folder: 405', async (t) => {
  const h = await startHarness(t);
  await h.put('/f', 'x');
  await h.send('MKCOL', '/d');
  for (const method of ['GET', 'HEAD']) {
    t.equal((await h.send(method, '/f/child')).status, 404, `${method} below a file`);
    t.equal((await h.send(method, '/none')).status, 404, `${method} of nothing`);
    t.equal((await h.send(method, '/d')).status, 200, `${method} of a folder`);
  }
  t.equal((await h.send('PUT', '/d', { body: 'x' })).status, 405, 'no lock or condition: the view refuses');
  t.equal((await h.send('PUT', '/d', { body: 'x', headers: { 'If-None-Match': '*' } })).status, 405, 'with a condition: refused before the view');
});
