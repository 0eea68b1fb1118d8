import t from 'tap';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RESIDENT_MAX } from '../../../src/core/blobs.js';
import { chunks, makeView, readAll } from '../fs/view-fixture.js';

// Content up to RESIDENT_MAX lives in its data row: no blob file, same behaviour for readers.

const blobFiles = (dir: string) => readdirSync(join(dir, 'blobs')).flatMap((d) => readdirSync(join(dir, 'blobs', d)));

t.test('a small upload is resident; a larger one is a file; both read back byte for byte', async (t) => {
  const fx = makeView(t);
  const small = randomBytes(RESIDENT_MAX);
  const large = randomBytes(RESIDENT_MAX + 1);
  await fx.view.writeFile('/small', chunks(small));
  await fx.view.writeFile('/empty', chunks(Buffer.alloc(0)));
  t.same(blobFiles(fx.dir), [], 'no file for content up to RESIDENT_MAX');
  await fx.view.writeFile('/large', chunks(large));
  t.equal(blobFiles(fx.dir).length, 1, 'one file for the larger one');
  t.ok((await readAll(await fx.view.openRead('/small'))).equals(small));
  t.equal((await readAll(await fx.view.openRead('/empty'))).length, 0);
  t.ok((await readAll(await fx.view.openRead('/large'))).equals(large));
  const reader = await fx.view.openRead('/small');
  const part = Buffer.alloc(10);
  t.equal(await reader.read(part, 0, 10, RESIDENT_MAX - 4), 4, 'a read past the end stops at the end');
  t.ok(part.subarray(0, 4).equals(small.subarray(RESIDENT_MAX - 4)));
  t.equal(await reader.read(part, 0, 10, RESIDENT_MAX + 100), 0);
  const streamed: Buffer[] = [];
  for await (const c of reader.stream(5, 9)) streamed.push(c as Buffer);
  t.ok(Buffer.concat(streamed).equals(small.subarray(5, 10)), 'a range streams');
  await reader.close();
});

t.test('resident content survives a restart, keeps history, copies and edits through a write session', async (t) => {
  const fx = makeView(t);
  await fx.view.writeFile('/doc.txt', chunks('first version'));
  await fx.view.writeFile('/doc.txt', chunks('second version'));
  await fx.view.copy('/doc.txt', '/copy.txt');
  const again = fx.reopen();
  t.equal((await readAll(await again.view.openRead('/doc.txt'))).toString(), 'second version');
  t.equal((await readAll(await again.view.openRead('/copy.txt'))).toString(), 'second version');
  const versions = (await again.view.list('/.history/doc.txt')).entries;
  t.equal((await readAll(await again.view.openRead(`/.history/doc.txt/${versions[0]!.name}`))).toString(), 'first version');
  // An NFS-style edit: the working copy starts from the resident content, and the result is resident too.
  const s = await again.view.openWrite('/doc.txt');
  await s.write(0, Buffer.from('SECOND'));
  await s.close();
  t.equal((await readAll(await again.view.openRead('/doc.txt'))).toString(), 'SECOND version');
  t.equal((await readAll(await again.view.openRead('/copy.txt'))).toString(), 'second version', 'the copy is untouched');
  t.same(blobFiles(fx.dir), [], 'still no blob files');
});

t.test('a write session growing past RESIDENT_MAX makes a file, shrinking below makes it resident', async (t) => {
  const fx = makeView(t);
  await fx.view.writeFile('/grow', chunks('small'));
  const big = randomBytes(RESIDENT_MAX + 10);
  let s = await fx.view.openWrite('/grow');
  await s.write(0, big);
  await s.close();
  t.equal(blobFiles(fx.dir).length, 1);
  t.ok((await readAll(await fx.view.openRead('/grow'))).equals(big));
  s = await fx.view.openWrite('/grow');
  await s.truncate(100);
  await s.close();
  t.ok((await readAll(await fx.view.openRead('/grow'))).equals(big.subarray(0, 100)));
  t.equal(fx.store.stats().blobs, 3, 'three versions kept (history)');
  t.equal(blobFiles(fx.dir).length, 1, 'only the large version is a file');
});

t.test('a leftover file named by a resident row is removed at start', async (t) => {
  const fx = makeView(t);
  await fx.view.writeFile('/r', chunks('resident'));
  const head = fx.view.currentHead((await fx.view.stat('/r')).key)!;
  writeFileSync(fx.store.blobs.path(head.dataId!), 'stale');
  const again = fx.reopen();
  t.notOk(existsSync(again.store.blobs.path(head.dataId!)), 'leftover removed');
  t.equal((await readAll(await again.view.openRead('/r'))).toString(), 'resident', 'content from the row');
});

t.test('openForRead serves resident content like a file: read and readv at any position', async (t) => {
  const fx = makeView(t);
  const content = randomBytes(5000);
  await fx.view.writeFile('/r', chunks(content));
  const dataId = fx.view.currentHead((await fx.view.stat('/r')).key)!.dataId!;
  const fh = await fx.store.blobs.openForRead(dataId);
  const one = Buffer.alloc(100);
  t.equal((await fh.read(one, 0, 100, 4950)).bytesRead, 50, 'read stops at the end');
  t.ok(one.subarray(0, 50).equals(content.subarray(4950)));
  const parts = [Buffer.alloc(3000), Buffer.alloc(3000)];
  t.equal((await fh.readv(parts, 1000)).bytesRead, 4000, 'readv fills buffers in order up to the end');
  t.ok(Buffer.concat(parts).subarray(0, 4000).equals(content.subarray(1000)));
  await fh.close();
  t.ok(fx.store.blobs.readAll(dataId).equals(content), 'readAll');
});
