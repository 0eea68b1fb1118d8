import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { native } from '../../../src/core/native.js';
import { tuneAllocator } from '../../../src/core/allocator.js';
import { droppedBuffers } from '../../../src/core/buffer-gc.js';
import { chunks, makeView, readAll } from '../fs/view-fixture.js';

// The native addon (native/, marble-native) and what uses it.
//
// Content that leaves the live tree (replaced or deleted, kept as history) leaves the page
// cache too (BlobStore.dropCached); what is live stays cached. fincore (util-linux) counts the
// pages of a file that are in the page cache.

const blobPaths = (dir: string) =>
  readdirSync(join(dir, 'blobs')).flatMap((d) => readdirSync(join(dir, 'blobs', d)).map((f) => join(dir, 'blobs', d, f)));
const cachedPages = (path: string) =>
  Number(execFileSync('fincore', ['--noheadings', '--output', 'PAGES', path], { encoding: 'utf8' }).trim());

async function pagesSettle(path: string, want: (pages: number) => boolean): Promise<number> {
  let pages = cachedPages(path);
  for (let i = 0; i < 100 && !want(pages); i++) {
    await sleep(20);
    pages = cachedPages(path);
  }
  return pages;
}

t.test('the native addon is built and loaded; its allocator calls are taken', async (t) => {
  t.ok(native, 'marble-native loads (npm ci builds it with node-gyp)');
  t.type(native?.dropCache, 'function');
  t.equal(native?.mallopt(native.M_MMAP_THRESHOLD, 128 * 1024), true, 'mallopt takes the mmap threshold');
  t.doesNotThrow(() => tuneAllocator());
  t.type(native?.mallocTrim(0), 'boolean');
  t.throws(() => native?.mallopt(Number.NaN as unknown as number, 'x' as unknown as number), /expected integer arguments/);
  await t.rejects(native!.dropCache(-1), /Bad file descriptor/, 'a bad descriptor is an error, not a crash');
});

t.test('buffers piling up outside the heap get a full collection; otherwise a young-generation one', async (t) => {
  t.equal(droppedBuffers(1024), null, 'a few bytes: no collection yet');
  droppedBuffers(8 << 20); // whatever the test process held so far is the baseline
  const inFlight = Array.from({ length: 12 }, () => Buffer.alloc(1 << 20, 1));
  t.equal(droppedBuffers(8 << 20), 'major', '12 MiB more outside the heap than after the last full collection: a full one');
  t.equal(droppedBuffers(8 << 20), 'minor', 'nothing more since: a young-generation one');
  t.equal(inFlight[11]![0], 1);
});

t.test('a replaced version and a deleted file leave the page cache; the live version stays; all read back', async (t) => {
  const fx = makeView(t);
  const first = randomBytes(4 << 20);
  const second = randomBytes(4 << 20);
  await fx.view.writeFile('/big.bin', chunks(first));
  const [firstBlob] = blobPaths(fx.dir);
  t.ok(firstBlob, 'a blob file for the first version');
  t.ok(cachedPages(firstBlob!) > 0, 'just written: in the page cache');

  await fx.view.writeFile('/big.bin', chunks(second));
  const secondBlob = blobPaths(fx.dir).find((p) => p !== firstBlob)!;
  t.equal(await pagesSettle(firstBlob!, (n) => n === 0), 0, 'the replaced version is dropped from the cache');
  t.ok(cachedPages(secondBlob) > 0, 'the live version stays cached');

  await fx.view.remove('/big.bin');
  t.equal(await pagesSettle(secondBlob, (n) => n === 0), 0, 'the deleted version is dropped from the cache');

  const versions = (await fx.view.list('/.history/big.bin')).entries.map((e) => e.name);
  t.equal(versions.length, 2, 'both versions are kept in history');
  const back = await Promise.all(versions.map(async (v) => readAll(await fx.view.openRead(`/.history/big.bin/${v}`))));
  t.ok(back.some((b) => b.equals(first)) && back.some((b) => b.equals(second)), 'both read back byte for byte');
});
