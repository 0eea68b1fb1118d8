/**
 * The HTTP API in-process: every route refuses bad input with a 4xx and a message, history
 * and splits report what the view holds (with links), and beyond loopback the API wants a
 * token or a WebDAV user (401 otherwise) while /health stays open.
 */
import t from 'tap';
import { startHttp } from '../../../src/http/server.js';
import { createMetrics } from '../../../src/metrics/index.js';
import { chunks, makeView } from '../fs/view-fixture.js';
import { splitPair } from '../replication/sync-fixture.js';

const json = { 'content-type': 'application/json' };

t.test('bad requests to every route get a 4xx with a message', async (t) => {
  const a = makeView(t, { name: 'a' });
  const http = await startHttp({ store: a.store, view: a.view, metrics: createMetrics({ store: a.store }), host: '127.0.0.1', port: 0 });
  t.teardown(() => http.close());
  const cases: Array<[string, string, RequestInit | undefined, number, RegExp]> = [
    ['GET', 'health?x=1', undefined, 400, /additional properties \('x'\)/],
    ['GET', 'api/status?verbose=1', undefined, 400, /additional properties \('verbose'\)/],
    ['GET', 'api/peers?x=1', undefined, 400, /additional properties/],
    ['GET', 'api/splits?x=1', undefined, 400, /additional properties/],
    ['GET', 'api/history', undefined, 400, /required property 'path'/],
    ['GET', 'api/history?path=relative.txt', undefined, 400, /must match pattern/],
    ['GET', 'api/history?path=/a.txt&x=1', undefined, 400, /additional properties/],
    ['GET', 'api/history?path=/no-such.txt', undefined, 404, /no-such.txt.*never existed/],
    ['GET', 'api/history?path=/', undefined, 400, /is a folder/],
    ['GET', 'api/history?path=/a/../b', undefined, 400, /invalid name/],
    ['POST', 'api/splits/resolve', { headers: json, body: '{"path": "/a.txt"' }, 400, /JSON/],
    ['POST', 'api/splits/resolve', { headers: json, body: JSON.stringify({ path: '/a.txt' }) }, 400, /required property 'keep'/],
    ['POST', 'api/splits/resolve', { headers: json, body: JSON.stringify({ path: '/a.txt', keep: 'a', more: 1 }) }, 400, /additional properties/],
    ['POST', 'api/splits/resolve', { headers: json, body: JSON.stringify({ path: '/a.txt', keep: 'nobody' }) }, 404, /no split version from nobody/],
    ['POST', 'api/splits/resolve', { headers: { 'content-type': 'text/plain' }, body: 'x' }, 400, /body must be object/],
    ['POST', 'api/splits/resolve', { headers: { 'content-type': 'application/xml' }, body: '<x/>' }, 415, /content-type/i],
    ['GET', 'metrics?x=1', undefined, 400, /additional properties/],
    ['GET', '?x=1', undefined, 400, /additional properties/],
    ['GET', 'api/nothing', undefined, 404, /no route GET \/api\/nothing/],
    ['DELETE', 'api/status', undefined, 404, /no route DELETE/],
  ];
  for (const [method, path, init, status, message] of cases) {
    const res = await fetch(http.url + path, { method, ...init });
    const body = (await res.json()) as { error?: string; message?: string };
    t.equal(res.status, status, `${method} /${path}: ${status}`);
    t.match(body.message, message, `${method} /${path}: says why (${body.message})`);
    t.type(body.error, 'string', `${method} /${path}: with an error code`);
  }
});

t.test('history lists a file’s versions with author, time, size and whether content is kept', async (t) => {
  const a = makeView(t, { name: 'laptop', historyKeep: 1 });
  await a.view.mkdir('/dir');
  await a.view.writeFile('/dir/doc.txt', chunks('one'));
  await a.view.writeFile('/dir/doc.txt', chunks('second version'));
  const http = await startHttp({ store: a.store, view: a.view, webdavUrl: 'http://127.0.0.1:8437/', host: '127.0.0.1', port: 0 });
  t.teardown(() => http.close());
  const res = await fetch(`${http.url}api/history?path=${encodeURIComponent('/dir/doc.txt')}`);
  t.equal(res.status, 200);
  const h = (await res.json()) as { versions: Array<{ name: string; path: string; url: string; instance: string; size: number; kept: boolean; time: string; kind: string }> };
  t.equal(h.versions.length, 2);
  t.same(h.versions.map((v) => [v.kind, v.instance, v.size, v.kept]), [['create', 'laptop', 3, false], ['write', 'laptop', 14, true]], 'oldest first; only the newest content kept (history-keep 1)');
  t.match(h.versions[1]!.path, /^\/\.history\/dir\/doc\.txt\/.*_laptop_.*\.txt$/);
  t.equal(h.versions[1]!.url, `http://127.0.0.1:8437${h.versions[1]!.path}`);
  t.ok(Date.parse(h.versions[0]!.time) > Date.now() - 60_000, 'time is an ISO date');
  const st = (await (await fetch(`${http.url}api/status`)).json()) as { recent: Array<{ path: string; kind: string; instance: string }> };
  t.same(st.recent.slice(0, 2).map((c) => [c.kind, c.path, c.instance]), [['write', '/dir/doc.txt', 'laptop'], ['create', '/dir/doc.txt', 'laptop']], 'status lists recent changes, newest first');
});

t.test('splits list each split path with a link to every version', async (t) => {
  const { a } = await splitPair(t);
  const http = await startHttp({ store: a.store, view: a.view, webdavUrl: 'http://127.0.0.1:8437/', host: '127.0.0.1', port: 0 });
  t.teardown(() => http.close());
  const r = (await (await fetch(`${http.url}api/splits`)).json()) as { instances: string[]; total: number; splits: Array<{ path: string; versions: Array<{ instance: string; path: string; url: string }> }> };
  t.same(r.instances, ['a', 'c']);
  t.equal(r.total, 1);
  t.equal(r.splits[0]!.path, '/doc.txt');
  t.same(
    r.splits[0]!.versions.map((v) => [v.instance, v.path, v.url]).sort(),
    [
      ['a', '/.splits/a/doc.txt', 'http://127.0.0.1:8437/.splits/a/doc.txt'],
      ['c', '/.splits/c/doc.txt', 'http://127.0.0.1:8437/.splits/c/doc.txt'],
    ],
  );
});

t.test('beyond loopback the API needs the token or a WebDAV user; /health stays open', async (t) => {
  const a = makeView(t, { name: 'a' });
  const checkUser = (name: string, password: string) => name === 'ann' && password === 'secret';
  const http = await startHttp({ store: a.store, view: a.view, metrics: createMetrics({ store: a.store }), protect: true, auth: { token: 'tok-123', checkUser }, host: '127.0.0.1', port: 0 });
  t.teardown(() => http.close());
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  for (const path of ['api/status', 'api/peers', 'api/splits', 'api/history?path=/x', 'metrics', '']) {
    const res = await fetch(http.url + path);
    t.equal(res.status, 401, `/${path} without credentials: 401`);
    t.match(((await res.json()) as { message: string }).message, /Bearer or Basic/);
    t.match(res.headers.get('www-authenticate'), /^Basic realm=/, 'browsers are asked for a user');
  }
  t.equal((await fetch(`${http.url}api/status`, { headers: { authorization: 'Bearer wrong' } })).status, 401, 'a wrong token: 401');
  t.equal((await fetch(`${http.url}api/status`, { headers: { authorization: basic('ann:wrong') } })).status, 401, 'a wrong password: 401');
  t.equal((await fetch(`${http.url}api/status`, { headers: { authorization: 'Bearer tok-123' } })).status, 200, 'the token: 200');
  t.equal((await fetch(`${http.url}api/status`, { headers: { authorization: basic('ann:secret') } })).status, 200, 'a WebDAV user: 200');
  t.equal((await fetch(`${http.url}metrics`, { headers: { authorization: 'Bearer tok-123' } })).status, 200, '/metrics with the token');
  t.equal((await fetch(`${http.url}health`)).status, 200, '/health needs nothing');

  const none = await startHttp({ store: a.store, protect: true, host: '127.0.0.1', port: 0 });
  t.teardown(() => none.close());
  const res = await fetch(`${none.url}api/status`, { headers: { authorization: 'Bearer anything' } });
  t.equal(res.status, 401, 'nothing configured: nothing let in');
  t.match(((await res.json()) as { message: string }).message, /--api-token/);
});
