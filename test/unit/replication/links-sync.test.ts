import t from 'tap';
import type { Change } from '../../../src/core/model.js';
import { fromWire, ProtocolError, toWire } from '../../../src/replication/wire.js';
import { chunks, makeView, readAll, type Fixture } from '../fs/view-fixture.js';
import { syncAll } from './sync-fixture.js';

// Hard links and symbolic links between instances (engine level, through the wire codec).

const text = async (fx: Fixture, p: string) => (await readAll(await fx.view.openRead(p))).toString();
const code = (c: string) => ({ code: c });
/** Every head of every node, as comparable rows. */
const heads = (fx: Fixture) =>
  JSON.stringify(
    [...new Set(fx.store.changesAfter(0, 1e6).map(({ change }) => change.nodeId))]
      .flatMap((n) => fx.store.headsOf(n))
      .map((h) => [h.nodeId, h.changeId, h.name, h.parentDir, h.deleted, h.linkTo, h.symlink])
      .sort(),
  );

t.test('a link and a symbolic link made on a show the same on b', async (t) => {
  const a = makeView(t, { name: 'a' });
  const b = makeView(t, { name: 'b' });
  await a.view.mkdir('/d');
  await a.view.writeFile('/d/f.txt', chunks('content'));
  await a.view.link('/d/f.txt', '/l.txt');
  await a.view.symlink('/s', Buffer.from('d/f.txt'));
  syncAll(a, b);
  for (const fx of [a, b]) {
    const [f, l, s] = [await fx.view.stat('/d/f.txt'), await fx.view.stat('/l.txt'), await fx.view.stat('/s')];
    t.equal(l.key, f.key, `${fx.store.instanceName}: one file under two names`);
    t.equal(f.nlink, 2);
    t.equal(await text(fx, '/l.txt'), 'content');
    t.ok(s.symlink, `${fx.store.instanceName}: the symbolic link is one`);
    t.equal(await text(fx, '/s'), 'd/f.txt');
  }
  await b.view.writeFile('/l.txt', chunks('edited on b via the link'));
  await b.view.remove('/d/f.txt');
  syncAll(a, b);
  t.equal(await text(a, '/l.txt'), 'edited on b via the link', 'the edit and the removal of the first name reach a');
  await t.rejects(a.view.stat('/d/f.txt'), code('MARBLE_NOT_FOUND'));
  t.equal((await a.view.stat('/l.txt')).nlink, 1);
  t.equal(heads(a), heads(b), 'same heads on both');
});

t.test('a link made while its file is deleted elsewhere is hidden; the versions stay in history', async (t) => {
  const a = makeView(t, { name: 'a' });
  const b = makeView(t, { name: 'b' });
  await a.view.writeFile('/f.txt', chunks('v1'));
  syncAll(a, b);
  await a.view.remove('/f.txt');
  await b.view.link('/f.txt', '/l.txt');
  syncAll(a, b);
  for (const fx of [a, b]) {
    await t.rejects(fx.view.stat('/l.txt'), code('MARBLE_NOT_FOUND'), `${fx.store.instanceName}: no dangling name`);
    t.same((await fx.view.list('/')).entries.map((e) => e.name), ['.history', '.splits']);
    const versions = (await fx.view.list('/.history/f.txt')).entries;
    t.equal(await text(fx, `/.history/f.txt/${versions[0]!.name}`), 'v1');
  }
  t.equal(heads(a), heads(b));
});

t.test('the first name removed on a while b renames the link it passes to: both names stay, same everywhere', async (t) => {
  const a = makeView(t, { name: 'a' });
  const b = makeView(t, { name: 'b' });
  await a.view.writeFile('/f.txt', chunks('kept'));
  await a.view.link('/f.txt', '/l.txt');
  syncAll(a, b);
  await a.view.remove('/f.txt'); // the file moves to /l.txt, the link node goes
  await b.view.rename('/l.txt', '/renamed.txt'); // concurrently, the link node moves
  syncAll(a, b);
  for (const fx of [a, b]) {
    t.equal(await text(fx, '/l.txt'), 'kept', `${fx.store.instanceName}: the file where the link was`);
    t.equal(await text(fx, '/renamed.txt'), 'kept', `${fx.store.instanceName}: the renamed link still names it`);
  }
  t.equal(heads(a), heads(b));
});

t.test("a file whose own name another instance's file shadows is still found through its link (NFS handles stay valid)", async (t) => {
  const a = makeView(t, { name: 'a' });
  const b = makeView(t, { name: 'b' });
  await a.view.writeFile('/x', chunks('from a'));
  await a.view.link('/x', '/l');
  await b.view.writeFile('/x', chunks('from b')); // concurrently: a name collision
  syncAll(a, b);
  const key = (await a.view.stat('/x')).key;
  t.equal(await text(b, '/x'), 'from b', 'b shows its own /x');
  t.equal((await b.view.stat('/l')).key, key, "b: /l shows a's file");
  t.equal(await b.view.pathOf(key), '/l', "b: a's file is found where its link is");
});

t.test('wire: links and symlinks round-trip; impossible ones are refused', async (t) => {
  const fx = makeView(t, { name: 'a' });
  await fx.view.writeFile('/f', chunks('x'));
  await fx.view.link('/f', '/l');
  await fx.view.writeFile('/plain', chunks('y'));
  const changes = fx.store.changesAfter(0, 100).map((r) => r.change);
  const link = changes.find((c) => c.meta.linkTo !== null)!;
  const plain = changes.find((c) => c.meta.name === 'plain')!;
  t.same(fromWire(JSON.parse(JSON.stringify(toWire(link)))).change, link);
  const wirePlain = toWire(plain);
  t.notOk('link' in wirePlain || 'symlink' in wirePlain, 'plain changes carry neither field');
  const bad = (patch: Record<string, unknown>, base: Change = link) => () => fromWire({ ...toWire(base), ...patch });
  t.throws(bad({ size: 3, ranges: [[0, 3]] }), ProtocolError, 'a link with content');
  t.throws(bad({ isDir: true }), ProtocolError, 'a folder link');
  t.throws(bad({ symlink: true }), ProtocolError, 'a link that is also a symbolic link');
  t.throws(bad({ link: link.nodeId }), ProtocolError, 'a link to itself');
  t.throws(bad({ link: 'not-a-node' }), ProtocolError, 'a malformed node id');
  t.throws(bad({ kind: 'write', parent: link.id }), ProtocolError, 'a write to a link');
  t.throws(bad({ symlink: 'yes' }, plain), ProtocolError, 'symlink must be a boolean');
  t.throws(bad({ symlink: true, isDir: true, size: 0, ranges: [], hashes: null }, plain), ProtocolError, 'a folder cannot be a symbolic link');
});
