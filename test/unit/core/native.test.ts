import t from 'tap';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A connected loopback pair: `server` (accepted, its descriptor for sendRange) and `client`. */
async function socketPair(t: { teardown(f: () => unknown): void }): Promise<{ fd: number; server: net.Socket; client: net.Socket }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const server = await accepted;
  listener.close();
  t.teardown(() => {
    client.destroy();
    server.destroy();
  });
  return { fd: (server as unknown as { _handle: { fd: number } })._handle.fd, server, client };
}

function fileOf(t: { teardown(f: () => unknown): void }, bytes: Buffer): number {
  const dir = mkdtempSync(join(tmpdir(), 'marble-native-'));
  writeFileSync(join(dir, 'f'), bytes);
  const fd = openSync(join(dir, 'f'), 'r');
  t.teardown(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return fd;
}

t.test('sendRange: a header, a range of a file and its padding go out on a socket in order, without blocking', async (t) => {
  const bytes = randomBytes(3 << 20);
  const file = fileOf(t, bytes);
  const { fd, client } = await socketPair(t);
  const got: Buffer[] = [];
  client.on('data', (b: Buffer) => got.push(b));
  const head = Buffer.from('header!');
  t.equal(native!.sendRange!(fd, head, file, 12_345, 100_001, 3), head.length + 100_001 + 3, 'all of it taken by the kernel');
  const want = Buffer.concat([head, bytes.subarray(12_345, 112_346), Buffer.alloc(3)]);
  for (let i = 0; i < 100 && Buffer.concat(got).length < want.length; i++) await sleep(10);
  t.ok(Buffer.concat(got).equals(want), 'the client receives exactly header, range, zeros');

  // A client that does not read: the socket's buffers fill (a few MiB), the call returns what went.
  const large = randomBytes(64 << 20);
  const largeFile = fileOf(t, large);
  client.pause();
  got.length = 0;
  const sent = native!.sendRange!(fd, head, largeFile, 0, large.length, 0);
  t.ok(sent > 0 && sent < head.length + large.length, `part of 64 MiB taken (${sent} bytes), the call did not wait for the rest`);
  client.resume();
  const prefix = Buffer.concat([head, large.subarray(0, sent)]).subarray(0, sent);
  for (let i = 0; i < 200 && Buffer.concat(got).length < sent; i++) await sleep(10);
  t.ok(Buffer.concat(got).equals(prefix), 'what it reports sent is what arrives');

  t.equal(native!.sendRange!(fd, head, file, bytes.length - 10, 100, 0), head.length + 10, 'past the end of the file: stops there, the caller sees the shortfall');
  t.throws(() => native!.sendRange!(fd, head, file, 0, 1, 4), RangeError, 'padding is at most 3 bytes');
  t.throws(() => native!.sendRange!(fd, 'x' as unknown as Buffer, file, 0, 1, 0), /Buffer/);
  t.throws(() => native!.sendRange!(fd, head, file, -1, 1, 0), /non-negative/);
  t.equal(native!.sendRange!(1 << 20, head, file, 0, 1, 0), 0, 'a bad descriptor sends nothing, no crash');
});

t.test('pagesCached: true for a file just written, false once its pages are dropped', async (t) => {
  const file = fileOf(t, randomBytes(1 << 20));
  fsyncSync(file); // clean pages: posix_fadvise(DONTNEED) drops only those
  t.equal(native!.pagesCached!(file, 4097, 500_000), true, 'written: in the page cache');
  await native!.dropCache(file);
  t.equal(native!.pagesCached!(file, 4097, 500_000), false, 'dropped: not');
  t.equal(native!.pagesCached!(file, 0, 0), false, 'an empty range is never worth sending from the cache');
  t.equal(native!.pagesCached!(1 << 20, 0, 10), false, 'a bad descriptor: false, no crash');
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
