import t from 'tap';
import { hrefs, startHarness, XML } from './harness.js';

const propfind = (inner: string) => `<?xml version="1.0"?><D:propfind xmlns:D="DAV:">${inner}</D:propfind>`;

t.test('PROPFIND depth 0, 1, infinity and the default', async (t) => {
  const h = await startHarness(t);
  await h.send('MKCOL', '/a');
  await h.send('MKCOL', '/a/b');
  await h.put('/a/b/c.txt', 'c');
  await h.put('/a/f.txt', 'f');
  const count = async (depth?: string) => {
    const r = await h.send('PROPFIND', '/a/', { headers: depth === undefined ? {} : { Depth: depth } });
    t.equal(r.status, 207);
    return hrefs(h.text(r)).sort();
  };
  t.same(await count('0'), ['/a/']);
  t.same(await count('1'), ['/a/', '/a/b/', '/a/f.txt']);
  t.same(await count('infinity'), ['/a/', '/a/b/', '/a/b/c.txt', '/a/f.txt']);
  t.same(await count(), ['/a/', '/a/b/', '/a/b/c.txt', '/a/f.txt'], 'no Depth means infinity');
  t.equal((await h.send('PROPFIND', '/a/', { headers: { Depth: '2' } })).status, 400);
  t.equal((await h.send('PROPFIND', '/nope', { headers: { Depth: '0' } })).status, 404);
  const file = await h.send('PROPFIND', '/a/f.txt', { headers: { Depth: '1' } });
  t.same(hrefs(h.text(file)), ['/a/f.txt'], 'Depth 1 on a file lists the file');
});

t.test('live properties, allprop, propname, missing props as 404', async (t) => {
  const h = await startHarness(t);
  await h.put('/f.txt', 'hello');
  const etag = (await h.send('HEAD', '/f.txt')).headers.etag as string;
  const all = h.text(await h.send('PROPFIND', '/f.txt', { headers: { Depth: '0' } }));
  for (const p of ['resourcetype', 'getcontentlength', 'getlastmodified', 'getetag', 'creationdate', 'displayname', 'getcontenttype', 'supportedlock', 'lockdiscovery']) {
    t.match(all, new RegExp(`<D:${p}[ />]`), `allprop has ${p}`);
  }
  t.match(all, `<D:getetag>${etag}</D:getetag>`, 'getetag equals the GET ETag');
  t.match(all, '<D:getcontentlength>5</D:getcontentlength>');
  t.notMatch(all, /quota/, 'quota is not part of allprop (RFC 4331)');

  const q = await h.send('PROPFIND', '/', {
    body: propfind('<D:prop><D:quota-available-bytes/><D:quota-used-bytes/><D:resourcetype/><Z:nothing xmlns:Z="urn:z"/></D:prop>'),
    headers: { ...XML, Depth: '0' },
  });
  const qt = h.text(q);
  t.match(qt, '<D:quota-available-bytes>1000000000000</D:quota-available-bytes>');
  t.match(qt, '<D:quota-used-bytes>5</D:quota-used-bytes>');
  t.match(qt, /<D:resourcetype><D:collection\/><\/D:resourcetype>/);
  t.match(qt, /<D:propstat><D:prop><X:nothing xmlns:X="urn:z"\/><\/D:prop><D:status>HTTP\/1.1 404 Not Found<\/D:status>/);

  const names = h.text(await h.send('PROPFIND', '/f.txt', { body: propfind('<D:propname/>'), headers: { ...XML, Depth: '0' } }));
  t.match(names, '<D:getetag/>');
  t.notMatch(names, /hello|"t\d+"/, 'propname carries no values');
});

t.test('dead properties go through view.getProps/patchProps; PROPPATCH is atomic', async (t) => {
  const h = await startHarness(t);
  await h.put('/f', 'x');
  const set = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z">
    <D:set><D:prop><Z:color>blue &amp; green</Z:color><Z:rich><Z:b attr="1">bold</Z:b><i xmlns="urn:other">it</i></Z:rich><nons xmlns="">plain</nons></D:prop></D:set>
    <D:set><D:prop><Z:gone>temp</Z:gone></D:prop></D:set>
    <D:remove><D:prop><Z:gone/></D:prop></D:remove>
  </D:propertyupdate>`;
  const r = await h.send('PROPPATCH', '/f', { body: set, headers: XML });
  t.equal(r.status, 207);
  t.match(h.text(r), /HTTP\/1.1 200 OK/);
  const stored = await h.view.getProps('/f');
  t.same([...stored.keys()].sort(), ['{urn:z}color', '{urn:z}rich', '{}nons'].sort(), 'stored under Clark names; removal after set wins');

  const got = h.text(await h.send('PROPFIND', '/f', { body: propfind('<D:prop><Z:color xmlns:Z="urn:z"/><Z:rich xmlns:Z="urn:z"/><nons xmlns=""/></D:prop>'), headers: { ...XML, Depth: '0' } }));
  t.match(got, '<X:color xmlns:X="urn:z">blue &amp; green</X:color>');
  t.match(got, /<X:rich xmlns:X="urn:z"><b xmlns="urn:z" attr="1">bold<\/b><i xmlns="urn:other">it<\/i><\/X:rich>/);
  t.match(got, '<nons xmlns="">plain</nons>');
  t.match(h.text(await h.send('PROPFIND', '/f', { headers: { Depth: '0' } })), /blue &amp; green/, 'allprop includes dead properties');

  const mixed = `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>red</Z:color><D:getetag>"forged"</D:getetag></D:prop></D:set></D:propertyupdate>`;
  const m = await h.send('PROPPATCH', '/f', { body: mixed, headers: XML });
  t.equal(m.status, 207);
  t.match(h.text(m), /<D:getetag\/><\/D:prop><D:status>HTTP\/1.1 403 Forbidden/);
  t.match(h.text(m), /<X:color xmlns:X="urn:z"\/><\/D:prop><D:status>HTTP\/1.1 424 Failed Dependency/);
  t.equal((await h.view.getProps('/f')).get('{urn:z}color'), 'blue &amp; green', 'nothing applied');

  t.equal((await h.send('PROPPATCH', '/nope', { body: set, headers: XML })).status, 404);
  t.equal((await h.send('PROPPATCH', '/f', { body: '<D:propertyupdate xmlns:D="DAV:"/>', headers: XML })).status, 400);
  t.equal((await h.send('PROPPATCH', '/f', { headers: XML })).status, 400, 'no body');
  await h.send('COPY', '/f', { headers: { Destination: `${h.url}g` } });
  t.equal((await h.view.getProps('/g')).get('{urn:z}color'), 'blue &amp; green', 'COPY keeps dead properties (the view copies them)');
});

t.test('a 500-entry Depth 1 PROPFIND is fast and needs no stat per entry', async (t) => {
  const h = await startHarness(t);
  await h.send('MKCOL', '/big');
  for (let i = 0; i < 500; i++) await h.view.writeFile(`/big/f${i}.bin`, oneChunk(Buffer.alloc(10)));
  h.view.calls.clear();
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const r = await h.send('PROPFIND', '/big/', { headers: { Depth: '1' } });
    t.equal(hrefs(h.text(r)).length, 501);
    times.push(r.ms);
  }
  t.equal(h.view.calls.get('stat'), 7, 'one stat per request (shared with the library lookup)');
  t.equal(h.view.calls.get('list'), 7, 'one list page per request');
  t.equal(h.view.calls.get('getPropsOf'), 14, 'dead properties fetched per page (the folder, then its 500 entries), not per entry');
  t.equal(h.view.calls.get('getProps'), undefined);
  times.sort((a, b) => a - b);
  t.ok(times[3]! < 60, `median ${times[3]} ms (generous bound for loaded CI; ~3 ms on an idle machine)`);
});

async function* oneChunk(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

t.test('a listing over several pages streams chunked and is complete', async (t) => {
  const h = await startHarness(t);
  await h.send('MKCOL', '/many');
  for (let i = 0; i < 1200; i++) await h.view.writeFile(`/many/file-with-a-longish-name-${i}.txt`, oneChunk(Buffer.from('x')));
  const r = await h.send('PROPFIND', '/', { headers: { Depth: 'infinity' }, maxBody: 64 << 20 });
  t.equal(r.status, 207);
  t.equal(r.headers['transfer-encoding'], 'chunked', 'streamed');
  t.equal(hrefs(h.text(r)).length, 1202, 'root + folder + 1200 files, across two list pages');
  t.match(h.text(r), /<\/D:multistatus>$/);
  t.ok((h.view.calls.get('list') ?? 0) >= 3, 'paged through view.list');
});
