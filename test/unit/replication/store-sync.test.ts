import t from 'tap';
import { chunks, makeView, readAll, type Fixture } from '../fs/view-fixture.js';
import { syncAll } from './sync-fixture.js';

const text = async (fx: Fixture, p: string) => (await readAll(await fx.view.openRead(p))).toString();
const names = async (fx: Fixture, p: string) => (await fx.view.list(p)).entries.map((e) => e.name);
const headsOf = (fx: Fixture) =>
  JSON.stringify(
    fx.store
      .changesAfter(0, 1e6)
      .map(({ change }) => fx.store.headsOf(change.nodeId))
      .flat()
      .map((h) => [h.nodeId, h.changeId, h.name, h.parentDir, h.deleted])
      .sort(),
  );

t.test('concurrent writes split; each side shows its own; a resolution converges', async (t) => {
  const a = makeView(t, { name: 'a' });
  const c = makeView(t, { name: 'c' });
  await a.view.writeFile('/f.txt', chunks('base'));
  syncAll(a, c);
  await a.view.writeFile('/f.txt', chunks('from a'));
  await c.view.writeFile('/f.txt', chunks('from c'));
  syncAll(a, c);
  t.equal(await text(a, '/f.txt'), 'from a');
  t.equal(await text(c, '/f.txt'), 'from c');
  t.same(await names(a, '/.splits'), ['a', 'c']);
  t.equal(await text(c, '/.splits/a/f.txt'), 'from a');
  await c.view.keepVersion('/f.txt', 'a');
  syncAll(a, c);
  t.equal(await text(c, '/f.txt'), 'from a');
  t.same(await names(a, '/.splits'), []);
  t.equal(headsOf(a), headsOf(c));
});

t.test('a live edit outranks a concurrent delete', async (t) => {
  const a = makeView(t, { name: 'a' });
  const c = makeView(t, { name: 'c' });
  await a.view.mkdir('/d');
  await a.view.writeFile('/d/f.txt', chunks('v1'));
  syncAll(a, c);
  await a.view.remove('/d', { recursive: true });
  await c.view.writeFile('/d/f.txt', chunks('v2 from c'));
  await c.view.writeFile('/d/new.txt', chunks('new in d'));
  syncAll(a, c);
  for (const fx of [a, c]) {
    t.equal(await text(fx, '/d/f.txt'), 'v2 from c', 'the edit survives the delete');
    t.equal(await text(fx, '/d/new.txt'), 'new in d', 'the deleted folder stays visible for its live file');
  }
  t.equal(headsOf(a), headsOf(c));
});

t.test('a file created deep inside a folder deleted concurrently stays reachable', async (t) => {
  const a = makeView(t, { name: 'a' });
  const c = makeView(t, { name: 'c' });
  await a.view.mkdir('/top');
  await a.view.mkdir('/top/mid');
  syncAll(a, c);
  await a.view.remove('/top', { recursive: true });
  await c.view.writeFile('/top/mid/deep.txt', chunks('deep'));
  syncAll(a, c);
  for (const fx of [a, c]) t.equal(await text(fx, '/top/mid/deep.txt'), 'deep', 'both ancestors stay visible');
});

t.test('folders created concurrently with one name show as one folder', async (t) => {
  const a = makeView(t, { name: 'a' });
  const c = makeView(t, { name: 'c' });
  await a.view.mkdir('/2026');
  await a.view.writeFile('/2026/from-a.txt', chunks('a'));
  await c.view.mkdir('/2026');
  await c.view.writeFile('/2026/from-c.txt', chunks('c'));
  syncAll(a, c);
  for (const fx of [a, c]) {
    t.same(await names(fx, '/2026'), ['from-a.txt', 'from-c.txt'], 'both folders merged');
    t.equal(await text(fx, '/2026/from-c.txt'), 'c');
  }
  await a.view.writeFile('/2026/new.txt', chunks('new'));
  await a.view.rename('/2026', '/archive');
  syncAll(a, c);
  for (const fx of [a, c]) t.same(await names(fx, '/archive'), ['from-a.txt', 'from-c.txt', 'new.txt'], 'the whole merged folder moved');
  await c.view.remove('/archive', { recursive: true });
  syncAll(a, c);
  for (const fx of [a, c]) t.same(await names(fx, '/'), ['.history', '.splits'], 'and is deleted as a whole');
  t.equal(headsOf(a), headsOf(c));
});

t.test('a file edited in a folder deleted and re-created elsewhere stays reachable, also when the new folder has a file of that name', async (t) => {
  const a = makeView(t, { name: 'a' });
  const c = makeView(t, { name: 'c' });
  await a.view.mkdir('/d');
  await a.view.writeFile('/d/f1.bin', chunks('v1'));
  syncAll(a, c);
  await a.view.remove('/d', { recursive: true });
  await a.view.mkdir('/d');
  await a.view.writeFile('/d/f1.bin', chunks('new folder, new file'));
  await c.view.writeFile('/d/f1.bin', chunks('edited by c'));
  syncAll(a, c);
  for (const fx of [a, c]) {
    const seen = [await text(fx, '/d/f1.bin'), await text(fx, '/.splits/c/d/f1.bin').catch(() => 'unreachable')];
    t.ok(seen.includes('edited by c'), `${fx.store.instanceName}: c's edit is reachable (${seen.join(' / ')})`);
  }
  t.equal(await text(a, '/d/f1.bin'), 'new folder, new file', 'a shows its own');
});

t.test('two files created with one name both stay reachable', async (t) => {
  const a = makeView(t, { name: 'a' });
  const c = makeView(t, { name: 'c' });
  await a.view.writeFile('/same.txt', chunks('made on a'));
  await c.view.writeFile('/same.txt', chunks('made on c'));
  syncAll(a, c);
  t.equal(await text(a, '/same.txt'), 'made on a');
  t.equal(await text(c, '/same.txt'), 'made on c');
  t.equal(await text(a, '/.splits/c/same.txt'), 'made on c');
  await a.view.remove('/.splits/c/same.txt');
  syncAll(a, c);
  t.equal(await text(c, '/same.txt'), 'made on a');
  t.same(await names(c, '/.splits'), []);
});

t.test('concurrent moves that would make a cycle resolve the same way everywhere', async (t) => {
  const a = makeView(t, { name: 'a' });
  const c = makeView(t, { name: 'c' });
  await a.view.mkdir('/x');
  await a.view.mkdir('/y');
  syncAll(a, c);
  await a.view.rename('/x', '/y/x');
  await new Promise((r) => setTimeout(r, 5));
  await c.view.rename('/y', '/x/y');
  syncAll(a, c);
  t.equal(headsOf(a), headsOf(c), 'same heads');
  for (const fx of [a, c]) {
    t.same(await names(fx, '/'), ['.history', '.splits', 'x'], 'the older move was undone: x at the root');
    t.same(await names(fx, '/x'), ['y']);
  }
});
