import t from 'tap';
import { startHttp } from '../../../src/http/server.js';
import { readAll } from '../fs/view-fixture.js';
import { splitPair, syncAll } from '../replication/sync-fixture.js';

t.test('the splits API lists split instances and keeps one version', async (t) => {
  const { a, c } = await splitPair(t);
  const http = await startHttp({ store: a.store, view: a.view, host: '127.0.0.1', port: 0 });
  t.teardown(() => http.close());
  const splits = (await (await fetch(`${http.url}api/splits`)).json()) as { instances: string[] };
  t.same(splits.instances, ['a', 'c']);
  const bad = await fetch(`${http.url}api/splits/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: 'doc.txt' }) });
  t.equal(bad.status, 400, 'a request without keep is refused with a message');
  t.match(await bad.text(), /keep/);
  const none = await fetch(`${http.url}api/splits/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: '/doc.txt', keep: 'nobody' }) });
  t.equal(none.status, 404);
  const ok = await fetch(`${http.url}api/splits/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: '/doc.txt', keep: 'c' }) });
  t.equal(ok.status, 200);
  t.equal((await readAll(await a.view.openRead('/doc.txt'))).toString(), 'from c');
  syncAll(a, c);
  t.same((await c.view.list('/.splits')).entries, [], 'resolved everywhere');
});
