/**
 * Overwriting a file through WebDAV keeps the previous version under /.history/<path>/,
 * listed by PROPFIND as `<UTC time>_<instance name>_<id>.<ext>` and byte-identical on GET.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { davUrl, listCollection, mkcol, patternBytes, put, request, sha256 } from '../helpers/http.js';
import { startMarble } from '../helpers/marble.js';

const VERSION_NAME = /^(\d{4}-\d\d-\d\dT\d\d\.\d\d\.\d\dZ)_(.+)_([^_./]+)\.txt$/;

t.test('overwritten file: older versions readable under /.history/<path>/', async (t) => {
  const name = 'histbox';
  const marble = await startMarble(t, { name });
  await mkcol(davUrl(marble.webdav, 'notes dir'));
  const file = davUrl(marble.webdav, 'notes dir', 'plan #1.txt');

  // three versions: small text, a 300 KiB one (several blocks), and a 1-byte edit of it
  const v1 = Buffer.from('version one\n');
  const v2 = await patternBytes(300 * 1024, 'history-v2');
  const v3 = Buffer.from(v2);
  v3[150 * 1024] = v3[150 * 1024]! ^ 0xff;
  // a second apart, so the names' times differ and their order is the order of the writes
  await put(file, v1);
  await sleep(1100);
  await put(file, v2);
  await sleep(1100);
  await put(file, v3);

  const cur = await request(file);
  t.equal(cur.status, 200, 'GET current: 200');
  t.equal(cur.sha256, sha256(v3), 'GET current: the last version');

  const histDir = davUrl(marble.webdav, '.history', 'notes dir', 'plan #1.txt') + '/';
  const entries = await listCollection(histDir);
  const names = entries.map((e) => e.path.slice(e.path.replace(/\/$/, '').lastIndexOf('/') + 1));
  t.comment(`/.history/notes dir/plan #1.txt/: ${names.join(', ')}`);
  t.ok(entries.length >= 3, `PROPFIND Depth 1 lists every version (${entries.length} >= 3)`);
  for (const n of names) {
    const m = VERSION_NAME.exec(n);
    t.ok(m, `version name ${JSON.stringify(n)} is <YYYY-MM-DDTHH.MM.SSZ>_<instance>_<id>.txt`);
    if (m) {
      t.equal(m[2], name, `version ${n}: made by instance "${name}"`);
      const when = Date.parse(m[1]!.replace(/T(\d\d)\.(\d\d)\.(\d\d)Z$/, 'T$1:$2:$3Z'));
      t.ok(Math.abs(Date.now() - when) < 10 * 60_000, `version ${n}: time is now (UTC)`);
    }
  }

  const bodies = new Map<string, string>();
  for (const e of entries) {
    const r = await request(new URL(e.href, marble.webdav).href);
    t.equal(r.status, 200, `GET ${e.path}: 200`);
    bodies.set(r.sha256, e.path);
  }
  t.ok(bodies.has(sha256(v1)), 'version 1 is in history, byte-identical');
  t.ok(bodies.has(sha256(v2)), 'version 2 is in history, byte-identical');

  // sorted by name, the versions come in the order they were written
  const byName = entries.slice().sort((a, b) => (a.path < b.path ? -1 : 1));
  const order: string[] = [];
  for (const e of byName) order.push((await request(new URL(e.href, marble.webdav).href)).sha256);
  t.same(order.filter((h) => h !== sha256(v3)).slice(0, 2), [sha256(v1), sha256(v2)], 'sorted by name: version 1, then version 2');

  if (entries.length > 0) {
    const oldest = byName[0]!;
    const r = await request(new URL(oldest.href, marble.webdav).href);
    t.equal(r.sha256, sha256(v1), `the oldest entry (${oldest.path}) holds version 1`);
    t.equal(Number(r.headers['content-length']), v1.length, 'and its Content-Length is version 1 length');

    // history is read-only: a write there is refused and changes nothing
    const w = await request(new URL(oldest.href, marble.webdav).href, { method: 'PUT', body: 'overwrite attempt' });
    t.ok(w.status >= 400 && w.status < 500, `PUT into /.history is refused (${w.status})`);
    const again = await request(new URL(oldest.href, marble.webdav).href);
    t.equal(again.sha256, sha256(v1), 'the history entry is unchanged');
  }

  t.same(await marble.stop(), { code: 0, signal: null }, 'SIGTERM: clean exit 0');

  // history survives a restart
  const again = await startMarble(t, { name, data: marble.data });
  const after = await listCollection(histDir.replace(marble.webdav, again.webdav));
  t.equal(after.length, entries.length, 'after a restart: the same versions are listed');
  await again.stop();
});
