import t from 'tap';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { native } from '../../../src/core/native.js';
import { tuneAllocator } from '../../../src/core/allocator.js';
import { droppedBuffers, noteActivity } from '../../../src/core/buffer-gc.js';
import { chunks, makeView, readAll } from '../fs/view-fixture.js';
import { blobPaths, cachedPages, cachedPagesSettle } from '../../helpers/page-cache.js';

// The native addon (native/, marble-native) and what uses it.
//
// Content that leaves the live tree (replaced or deleted, kept as history) leaves the page
// cache too (BlobStore.dropCached); what is live stays cached. fincore (util-linux) counts the
// pages of a file that are in the page cache.

/** Counts V8's collections of one kind until stop() is called. */
function countGcs(kind: number): { seen(): number; stop(): void } {
  let n = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === kind) n++;
  });
  observer.observe({ entryTypes: ['gc'] });
  return { seen: () => n, stop: () => observer.disconnect() };
}

t.test('the native addon is built and loaded; its allocator calls are taken', async (t) => {
  t.ok(native, 'marble-native loads (npm ci builds it with node-gyp)');
  t.type(native?.dropCache, 'function');
  t.equal(native?.mallopt(native.M_MMAP_THRESHOLD, 128 * 1024), true, 'mallopt takes the mmap threshold');
  t.type(native?.M_TRIM_THRESHOLD, 'number', 'the addon names the trim threshold');
  t.equal(native?.mallopt(native.M_TRIM_THRESHOLD!, 4 << 20), true, 'mallopt takes the trim threshold');
  t.doesNotThrow(() => tuneAllocator());
  t.type(native?.mallocTrim(0), 'boolean');
  t.throws(() => native?.mallopt(Number.NaN as unknown as number, 'x' as unknown as number), /expected integer arguments/);
  await t.rejects(native!.dropCache(-1), /Bad file descriptor/, 'a bad descriptor is an error, not a crash');
});

t.test('dropped buffers: a young-generation collection every few MiB', async (t) => {
  droppedBuffers(4 << 20); // start counting afresh
  const scavenges = countGcs(perfConstants.NODE_PERFORMANCE_GC_MINOR);
  t.equal(droppedBuffers(1024), false, 'a few bytes: no collection yet');
  t.equal(droppedBuffers(4 << 20), true, '4 MiB more: one');
  for (let i = 0; i < 50 && scavenges.seen() === 0; i++) await sleep(20); // entries arrive asynchronously
  t.ok(scavenges.seen() >= 1, 'V8 reports the young-generation collection');
  scavenges.stop();
});

t.test('quiet after work: one full collection returns the process to its resting size', async (t) => {
  const fulls = countGcs(perfConstants.NODE_PERFORMANCE_GC_MAJOR);
  noteActivity();
  for (let i = 0; i < 100 && fulls.seen() === 0; i++) await sleep(50);
  t.ok(fulls.seen() >= 1, 'a full collection ran once work stopped');
  fulls.stop();
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
  t.equal(await cachedPagesSettle(firstBlob!, (n) => n === 0), 0, 'the replaced version is dropped from the cache');
  t.ok(cachedPages(secondBlob) > 0, 'the live version stays cached');

  await fx.view.remove('/big.bin');
  t.equal(await cachedPagesSettle(secondBlob, (n) => n === 0), 0, 'the deleted version is dropped from the cache');

  const versions = (await fx.view.list('/.history/big.bin')).entries.map((e) => e.name);
  t.equal(versions.length, 2, 'both versions are kept in history');
  const back = await Promise.all(versions.map(async (v) => readAll(await fx.view.openRead(`/.history/big.bin/${v}`))));
  t.ok(back.some((b) => b.equals(first)) && back.some((b) => b.equals(second)), 'both read back byte for byte');
});
