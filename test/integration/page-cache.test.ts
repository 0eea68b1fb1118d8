/**
 * A version that leaves the live tree through a real client (a WebDAV PUT over it, a DELETE)
 * leaves the page cache too, so new writes reuse its pages (see BlobStore.dropCached); the live
 * version stays cached, and every version still reads back byte for byte.
 */
import t from 'tap';
import { davUrl, listCollection, patternBytes, put, request, sha256 } from '../helpers/http.js';
import { startMarble } from '../helpers/marble.js';
import { blobPaths, cachedPages, cachedPagesSettle } from '../helpers/page-cache.js';

t.test('a file replaced and then deleted over WebDAV: old content leaves the page cache, nothing is lost', async (t) => {
  const marble = await startMarble(t);
  const file = davUrl(marble.webdav, 'video.bin');
  const first = await patternBytes(4 << 20, 'page-cache-1');
  const second = await patternBytes(4 << 20, 'page-cache-2');

  t.equal((await put(file, first)).status, 201, 'PUT creates the file');
  const [firstBlob] = blobPaths(marble.data);
  t.ok(firstBlob && cachedPages(firstBlob) > 0, 'the new content is in the page cache');

  t.equal((await put(file, second)).status, 204, 'PUT replaces it');
  const secondBlob = blobPaths(marble.data).find((p) => p !== firstBlob)!;
  t.equal(await cachedPagesSettle(firstBlob!, (n) => n === 0), 0, 'the replaced version is dropped from the page cache');
  t.ok(cachedPages(secondBlob) > 0, 'the live version stays cached');

  const versions = await listCollection(davUrl(marble.webdav, '.history', 'video.bin') + '/');
  const hrefs = versions.map((v) => v.path).filter((p) => !p.endsWith('/'));
  t.equal(hrefs.length, 2, 'both versions are listed under /.history/video.bin/');
  const sums = await Promise.all(hrefs.map(async (h) => (await request(new URL(h, marble.webdav).href)).sha256));
  t.same(sums.sort(), [sha256(first), sha256(second)].sort(), 'both versions read back byte for byte');

  t.equal((await request(file, { method: 'DELETE' })).status, 204, 'DELETE removes the file');
  t.equal(await cachedPagesSettle(secondBlob, (n) => n === 0), 0, 'the deleted version is dropped from the page cache');
  const after = await listCollection(davUrl(marble.webdav, '.history', 'video.bin') + '/');
  t.equal(after.filter((v) => !v.path.endsWith('/')).length, 2, 'both versions are still in history');
});
