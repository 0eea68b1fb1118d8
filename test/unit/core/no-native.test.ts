import t from 'tap';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { blobPaths, cachedPages } from '../../helpers/page-cache.js';

// Without the native addon (native/ not built: no compiler where it was installed), Marble
// works the same, holding more memory: no page-cache drops, no allocator settings, no trims.

// tap resolves relative names against the source-mapped .ts location; these name the built files.
const built = (path: string) => new URL(path, import.meta.url).href;
const NATIVE = built('../../../src/core/native.js');

t.test('without the addon, large files are written, replaced, read back and kept as history', async (t) => {
  const fixture = await t.mockImport<typeof import('../fs/view-fixture.js')>(built('../fs/view-fixture.js'), { [NATIVE]: { native: null } });
  const fx = fixture.makeView(t);
  const first = randomBytes(3 << 20);
  const second = randomBytes(3 << 20);
  await fx.view.writeFile('/big.bin', fixture.chunks(first));
  const [firstBlob] = blobPaths(fx.dir);
  await fx.view.writeFile('/big.bin', fixture.chunks(second));
  await sleep(200); // with the addon, the replaced version leaves the page cache within milliseconds
  t.ok(cachedPages(firstBlob!) > 0, 'the replaced version stays in the page cache: no addon, no drop, no error');
  t.ok((await fixture.readAll(await fx.view.openRead('/big.bin'))).equals(second), 'the live version reads back');
  const versions = (await fx.view.list('/.history/big.bin')).entries.map((e) => e.name);
  t.equal(versions.length, 2, 'both versions are in the history folder');
  const back = await Promise.all(versions.map(async (v) => fixture.readAll(await fx.view.openRead(`/.history/big.bin/${v}`))));
  t.ok(back.some((b) => b.equals(first)) && back.some((b) => b.equals(second)), 'both read back byte for byte');
});

t.test('without the addon, the allocator set-up is a no-op and buffer collections still run', async (t) => {
  const { tuneAllocator } = await t.mockImport<typeof import('../../../src/core/allocator.js')>(built('../../../src/core/allocator.js'), { [NATIVE]: { native: null } });
  const { droppedBuffers } = await t.mockImport<typeof import('../../../src/core/buffer-gc.js')>(built('../../../src/core/buffer-gc.js'), { [NATIVE]: { native: null } });
  t.doesNotThrow(() => tuneAllocator());
  t.equal(droppedBuffers(4 << 20), true, 'the young collection still runs; only the trim needs the addon');
});

t.test('without the addon, an NFS READ of cached data is read into a buffer, not lent as a file', async (t) => {
  const { makeView, chunks } = await import('../fs/view-fixture.js');
  const { ReadCache } = await t.mockImport<typeof import('../../../protocols/nfs/reads.js')>(built('../../../protocols/nfs/reads.js'), { [NATIVE]: { native: null } });
  const fx = makeView(t);
  const data = randomBytes(1 << 20);
  const { entry } = await fx.view.writeFile('/f.bin', chunks(data));
  const reads = new ReadCache(fx.view, 1000);
  t.teardown(() => reads.closeAll());
  t.equal(await reads.fileRange(entry.key, '/f.bin', entry, 0, data.length), undefined, 'no range lent');
  t.ok((await reads.read(entry.key, '/f.bin', entry, 0, data.length)).equals(data), 'the bytes are read instead');
});
