import t from 'tap';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK_SIZE } from '../../../src/core/blocks.js';
import { RESIDENT_MAX } from '../../../src/core/blobs.js';
import { chunks, makeView, readAll } from './view-fixture.js';

const code = (c: string) => ({ code: c });

t.test('write, read back, list, stat', async (t) => {
  const { view } = makeView(t);
  await view.mkdir('/docs');
  const { created, entry } = await view.writeFile('/docs/a.txt', chunks('hello ', 'world'));
  t.ok(created);
  t.equal(entry.size, 11);
  t.equal((await readAll(await view.openRead('/docs/a.txt'))).toString(), 'hello world');
  const names = (await view.list('/')).entries.map((e) => e.name);
  t.same(names, ['.history', '.splits', 'docs']);
  t.same((await view.list('/docs')).entries.map((e) => e.name), ['a.txt']);
  t.equal((await view.stat('/docs')).isDir, true);
  t.same((await view.list('/.splits')).entries, [], 'a lone instance has no splits');
});

t.test('overwrite keeps the previous version in history, byte-identical', async (t) => {
  const { view } = makeView(t);
  const v1 = randomBytes(300_000);
  const v2 = Buffer.from(v1);
  v2[200_000] ^= 0xff;
  await view.writeFile('/f.bin', chunks(v1));
  const { entry } = await view.writeFile('/f.bin', chunks(v2));
  t.not(entry.contentTag, undefined);
  const versions = (await view.list('/.history/f.bin')).entries;
  t.equal(versions.length, 2);
  t.match(versions[0]!.name, /^\d{4}-\d\d-\d\dT\d\d\.\d\d\.\d\dZ_unit_\w{4}\.bin$/);
  t.ok(versions.every((v) => v.readOnly));
  t.same(await readAll(await view.openRead(`/.history/f.bin/${versions[0]!.name}`)), v1);
  t.same(await readAll(await view.openRead(`/.history/f.bin/${versions[1]!.name}`)), v2);
  await t.rejects(view.writeFile(`/.history/f.bin/x`, chunks('no')), code('MARBLE_READ_ONLY'));
});

t.test('a whole-file rewrite records only the blocks that differ', async (t) => {
  const { view, store } = makeView(t);
  const v1 = randomBytes(BLOCK_SIZE * 8 + 100);
  const v2 = Buffer.from(v1);
  v2[BLOCK_SIZE * 3 + 5] ^= 1;
  await view.writeFile('/big', chunks(v1));
  const { entry } = await view.writeFile('/big', chunks(v2));
  const change = store.change(entry.versionTag)!;
  t.equal(change.kind, 'write');
  t.same(change.ranges, [{ offset: BLOCK_SIZE * 3, length: BLOCK_SIZE }]);
  t.equal(change.blockHashes!.length, 36, 'one (index, hash) entry');
  const same = await view.writeFile('/big', chunks(v2));
  t.equal(same.entry.versionTag, entry.versionTag, 'identical upload records nothing');
});

t.test('history retention frees old blobs, resident or files', async (t) => {
  for (const size of [100, RESIDENT_MAX + 1]) {
    const { view, dir, store } = makeView(t, { historyKeep: 2 });
    const version = (i: number) => `version ${i} `.padEnd(size, '.');
    for (let i = 0; i < 5; i++) await view.writeFile('/r.txt', chunks(version(i)));
    const versions = (await view.list('/.history/r.txt')).entries;
    t.equal(versions.length, 5, 'every version is listed');
    await t.rejects(view.openRead(`/.history/r.txt/${versions[0]!.name}`), code('MARBLE_GONE'));
    t.equal((await readAll(await view.openRead(`/.history/r.txt/${versions[3]!.name}`))).toString(), version(3));
    t.equal(store.stats().blobs, 2, `${size} bytes: only the retained blobs remain`);
    const files = readdirSync(join(dir, 'blobs')).flatMap((d) => readdirSync(join(dir, 'blobs', d)));
    t.equal(files.length, size > RESIDENT_MAX ? 2 : 0, `${size} bytes: ${size > RESIDENT_MAX ? 'a file each' : 'resident, no files'}`);
  }
});

t.test('rename, move, replace, and folder rules', async (t) => {
  const { view } = makeView(t);
  await view.mkdir('/a');
  await view.mkdir('/a/b');
  await view.mkdir('/c');
  await view.writeFile('/a/x.txt', chunks('x'));
  await view.writeFile('/c/y.txt', chunks('y'));
  const before = await view.stat('/a/x.txt');
  const moved = await view.rename('/a/x.txt', '/c/x2.txt');
  t.equal(moved.entry.key, before.key, 'a rename keeps the node');
  await t.rejects(view.rename('/c/x2.txt', '/c/y.txt'), code('MARBLE_EXISTS'));
  const r = await view.rename('/c/x2.txt', '/c/y.txt', { overwrite: true });
  t.ok(r.replaced);
  t.equal((await readAll(await view.openRead('/c/y.txt'))).toString(), 'x');
  await t.rejects(view.rename('/a', '/a/b/a'), code('MARBLE_INVALID_MOVE'));
  await t.rejects(view.remove('/c'), code('MARBLE_NOT_EMPTY'));
  await view.remove('/c', { recursive: true });
  await t.rejects(view.stat('/c/y.txt'), code('MARBLE_NOT_FOUND'));
  t.ok((await view.list('/.history/c')).entries.some((e) => e.name === 'y.txt'), 'deleted files stay in history');
  await t.rejects(view.mkdir('/.history'), code('MARBLE_READ_ONLY'));
});

t.test('copy shares content and copies subtrees', async (t) => {
  const { view, store } = makeView(t);
  await view.mkdir('/src');
  await view.mkdir('/src/deep');
  await view.writeFile('/src/deep/f', chunks('content'));
  await view.patchProps('/src/deep/f', new Map([['ns:color', 'blue']]), []);
  const blobsBefore = store.stats().blobs;
  await view.copy('/src', '/dst');
  t.equal((await readAll(await view.openRead('/dst/deep/f'))).toString(), 'content');
  t.equal(store.stats().blobs, blobsBefore, 'no new blob for a copy');
  t.equal((await view.getProps('/dst/deep/f')).get('ns:color'), 'blue');
  await view.writeFile('/dst/deep/f', chunks('changed'));
  t.equal((await readAll(await view.openRead('/src/deep/f'))).toString(), 'content', 'copies are independent');
});

t.test('paths cannot leave the tree', async (t) => {
  const { view } = makeView(t);
  for (const p of ['/../etc/passwd', '/a/../../x', '/./x', '/x\0y', 'relative']) {
    await t.rejects(view.stat(p), code('MARBLE_INVALID_NAME'), p);
  }
});

t.test('random writes coalesce into one change per session', async (t) => {
  // An idle commit long enough that a loaded machine cannot split the burst below.
  const { view, store } = makeView(t, { idleCommitMs: 10_000 });
  await view.writeFile('/w.bin', chunks(Buffer.alloc(BLOCK_SIZE * 4, 1)));
  const changesBefore = store.stats().changes;
  const s = await view.openWrite('/w.bin');
  for (let i = 0; i < 50; i++) await s.write(10 + i * 100, Buffer.from('zz'));
  await s.write(BLOCK_SIZE * 5, Buffer.from('tail'));
  const entry = await s.close();
  t.equal(store.stats().changes, changesBefore + 1, 'one change');
  t.equal(entry.size, BLOCK_SIZE * 5 + 4);
  const change = store.change(entry.versionTag)!;
  t.same(change.ranges.map((r) => r.offset), [0, BLOCK_SIZE * 4], 'block 0 and the grown tail');
  const data = await readAll(await view.openRead('/w.bin'));
  t.equal(data.subarray(10, 12).toString(), 'zz');
  t.equal(data[BLOCK_SIZE * 4 + 10], 0, 'the gap reads as zeros');
  await view.truncate('/w.bin', 3);
  t.equal((await view.stat('/w.bin')).size, 3);
});

t.test('a write session left idle commits by itself', async (t) => {
  const { view } = makeView(t, { idleCommitMs: 40 });
  await view.writeFile('/w.bin', chunks('start'));
  const s = await view.openWrite('/w.bin');
  await s.write(0, Buffer.from('idle'));
  const read = async () => (await readAll(await view.openRead('/w.bin'))).subarray(0, 4).toString();
  for (let i = 0; i < 200 && (await read()) !== 'idle'; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(await read(), 'idle', 'readable without close');
  await s.close();
});

t.test('a reader keeps a blob alive after its version is dropped', async (t) => {
  const { view, store } = makeView(t, { historyKeep: 0 });
  await view.writeFile('/h', chunks('old content'));
  const reader = await view.openRead('/h');
  await view.writeFile('/h', chunks('new content'));
  t.equal((await readAll(reader)).toString(), 'old content');
  t.equal(store.stats().blobs, 1);
});

t.test('leftovers of an interrupted write are removed at start', async (t) => {
  const fx = makeView(t);
  await fx.view.writeFile('/keep', chunks('kept'));
  const orphan = fx.store.allocateDataId();
  await fx.store.blobs.createEmpty(orphan);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(fx.dir, 'tmp', 'partial'), 'x');
  const again = fx.reopen();
  t.notOk(existsSync(again.store.blobs.path(orphan)), 'orphan blob removed');
  t.same(readdirSync(join(fx.dir, 'tmp')), []);
  t.equal((await readAll(await again.view.openRead('/keep'))).toString(), 'kept');
});

t.test('pathOf follows a node wherever it moves, and not past its deletion', async (t) => {
  const { view } = makeView(t);
  await view.mkdir('/a');
  await view.mkdir('/b');
  const { entry } = await view.writeFile('/a/f.txt', chunks('one'));
  await view.writeFile('/a/f.txt', chunks('two'));
  t.equal(await view.pathOf(entry.key), '/a/f.txt');
  await view.rename('/a/f.txt', '/b/g.txt');
  t.equal(await view.pathOf(entry.key), '/b/g.txt');
  t.equal(await view.pathOf('root'), '/');
  const hist = await view.stat('/.history/b/g.txt');
  t.equal(await view.pathOf(hist.key), '/.history/b/g.txt');
  const [first] = (await view.list('/.history/b/g.txt')).entries;
  t.equal(await view.pathOf(first!.key), `/.history/b/g.txt/${first!.name}`);
  await view.remove('/b/g.txt');
  await t.rejects(view.pathOf(entry.key), { code: 'MARBLE_NOT_FOUND' });
  t.equal(await view.pathOf(hist.key), '/.history/b/g.txt', 'history still has it');
});

t.test('properties of many entries at once', async (t) => {
  const { view } = makeView(t);
  await view.writeFile('/p1', chunks('1'));
  await view.writeFile('/p2', chunks('2'));
  await view.patchProps('/p2', new Map([['x:a', '1'], ['x:b', '2']]), []);
  await view.patchProps('/p2', new Map(), ['x:a']);
  const keys = (await view.list('/')).entries.map((e) => e.key);
  const props = await view.getPropsOf(keys);
  t.same(props.map((m) => [...m]), [[], [], [], [['x:b', '2']]]);
});

t.test('empty files share one empty blob; writing one leaves the others empty', async (t) => {
  const { view, store } = makeView(t);
  const blobsBefore = store.stats().blobs;
  await view.createFile('/a');
  await view.createFile('/b');
  await view.createFile('/c', { mode: 0o600 });
  t.equal(store.stats().blobs, blobsBefore + 1, 'one blob for three empty files');
  const s = await view.openWrite('/b');
  await s.write(0, Buffer.from('bee'));
  await s.close();
  t.equal((await readAll(await view.openRead('/b'))).toString(), 'bee');
  for (const p of ['/a', '/c']) {
    t.equal((await view.stat(p)).size, 0, `${p} still empty`);
    t.equal((await readAll(await view.openRead(p))).length, 0, `${p} reads empty`);
  }
  t.equal((await view.stat('/c')).mode, 0o600, 'mode kept');
  await view.remove('/a');
  await view.remove('/c');
  await view.createFile('/d');
  t.equal((await readAll(await view.openRead('/d'))).length, 0, 'a file created after the others went is empty too');
});

t.test('a listing kept between calls shows every commit', async (t) => {
  const { view } = makeView(t);
  await view.mkdir('/d');
  for (const n of ['a', 'b', 'c']) await view.writeFile(`/d/${n}`, chunks(n));
  const names = async (limit: number) => {
    const out: string[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = await view.list('/d', { cursor, limit });
      out.push(...page.entries.map((e) => `${e.name}:${e.size}`));
      if (page.cursor === null) return out;
      cursor = page.cursor;
    }
  };
  t.same(await names(2), ['a:1', 'b:1', 'c:1']);
  t.same(await names(2), ['a:1', 'b:1', 'c:1'], 'same again');
  await view.writeFile('/d/b', chunks('bigger'));
  await view.writeFile('/d/bb', chunks('x'));
  await view.remove('/d/c');
  t.same(await names(2), ['a:1', 'b:6', 'bb:1'], 'sizes, new and removed names after commits');
  const page = await view.list('/d', { limit: 10 });
  page.entries.pop();
  t.equal((await view.list('/d', { limit: 10 })).entries.length, 3, "a caller changing its page does not change the next caller's");
});
