/**
 * A full disk: the data directory on a 48 MiB tmpfs. A PUT larger than the free space gets
 * 507 Insufficient Storage with a message a person can act on; nothing already stored is lost
 * (neither a file beside it nor the file it tried to replace); the server keeps serving; and
 * once space is freed, uploads work again.
 * Mounting needs root. CI runs as root; elsewhere this fails with the reason (no silent skip).
 */
import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { davUrl, patternSha256, patternStream, put, request, type Reply } from '../helpers/http.js';
import { isRoot, MiB, startMarble, tempDir } from '../helpers/marble.js';

const run = promisify(execFile);
const TMPFS_MB = 48;

t.test('full disk: 507 with a clear message, nothing stored is lost, space comes back', async (t) => {
  if (!isRoot) {
    t.fail('the full-disk test mounts a tmpfs and needs root; run the tests as root, as CI does');
    return;
  }
  const base = await tempDir(t, 'marble-full-');
  const data = path.join(base, 'data');
  await run('mkdir', ['-p', data]);
  await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m,mode=0700`, 'tmpfs', data]);
  // teardowns run last-registered first: the server (registered by startMarble below) stops
  // before this unmounts
  t.teardown(async () => {
    await run('umount', [data]).catch(async () => run('umount', ['-l', data]));
  });

  const marble = await startMarble(t, { data, name: 'fulldisk' });
  const W = marble.webdav;
  const free = async () => {
    const s = await statfs(data);
    return s.bavail * s.bsize;
  };

  const keepSize = 4 * MiB;
  const keepSum = await patternSha256(keepSize, 'full-keep');
  await put(davUrl(W, 'keep.bin'), patternStream(keepSize, 'full-keep'), { 'Content-Length': keepSize });
  const victimSize = 2 * MiB;
  const victimSum = await patternSha256(victimSize, 'full-victim');
  await put(davUrl(W, 'victim.bin'), patternStream(victimSize, 'full-victim'), { 'Content-Length': victimSize });
  t.comment(`free on the tmpfs after storing 6 MiB: ${((await free()) / MiB).toFixed(1)} MiB`);

  const tooBig = 64 * MiB; // more than the whole tmpfs
  const refused = async (what: string, url: string, headers: Record<string, string | number>): Promise<Reply | null> => {
    try {
      return await request(url, { method: 'PUT', headers, body: patternStream(tooBig, `full-big-${what}`), timeoutMs: 60_000 });
    } catch (e) {
      await new Promise((r) => setTimeout(r, 200));
      t.fail(`${what}: the request failed without an HTTP answer (${(e as Error).message})`, {
        serverAlive: marble.alive(),
        stderr: marble.stderr().slice(-4000),
      });
      return null;
    }
  };
  /** false when the server died (the rest of the test would only repeat that). */
  const checkRefused = (what: string, r: Reply | null): boolean => {
    if (!marble.alive()) {
      t.fail(`${what}: the server died`, { stderr: marble.stderr().slice(-4000) });
      return false;
    }
    if (!r) return true;
    const msg = r.body.toString('utf8');
    t.equal(r.status, 507, `${what}: 507 Insufficient Storage (got ${r.status})`, { body: msg.slice(0, 500) });
    t.match(msg, /space|full|storage/i, `${what}: the message says the disk is full: ${JSON.stringify(msg.slice(0, 200))}`);
    return true;
  };

  // a new file that does not fit (Content-Length known), then one sent chunked as Finder does
  if (!checkRefused('new 64 MiB file', await refused('new', davUrl(W, 'too-big.bin'), { 'Content-Length': tooBig }))) return;
  const gone = await request(davUrl(W, 'too-big.bin'), { maxBody: 0 });
  t.equal(gone.status, 404, `the refused new file was not created, not even partly (GET: ${gone.status}, ${gone.bodyBytes} bytes)`);
  if (!checkRefused('new 64 MiB file, chunked', await refused('chunked', davUrl(W, 'too-big-chunked.bin'), { 'Transfer-Encoding': 'chunked' }))) return;
  t.equal((await request(davUrl(W, 'too-big-chunked.bin'), { maxBody: 0 })).status, 404, 'the refused chunked file was not created');

  // replacing an existing file with something that does not fit: the old content stays
  if (!checkRefused('replacing victim.bin', await refused('replace', davUrl(W, 'victim.bin'), { 'Content-Length': tooBig }))) return;
  const victim = await request(davUrl(W, 'victim.bin'), { maxBody: 0 });
  t.equal(victim.status, 200, 'victim.bin still readable');
  t.equal(victim.sha256, victimSum, 'victim.bin keeps its previous content, byte-identical');

  const keep = await request(davUrl(W, 'keep.bin'), { maxBody: 0 });
  t.equal(keep.status, 200, 'keep.bin still readable');
  t.equal(keep.sha256, keepSum, 'keep.bin byte-identical');
  t.ok(marble.alive(), 'server still running');
  const list = await request(W, { method: 'PROPFIND', headers: { Depth: '1' } });
  t.equal(list.status, 207, 'PROPFIND of the root still works');
  const freeAfter = await free();
  t.comment(`free after the refused uploads: ${(freeAfter / MiB).toFixed(1)} MiB`);
  t.ok(freeAfter > 30 * MiB, `the refused uploads left no debris (${(freeAfter / MiB).toFixed(1)} MiB free > 30)`);

  // delete something, then a new upload works and reads back
  const del = await request(davUrl(W, 'keep.bin'), { method: 'DELETE' });
  t.ok(del.status === 204 || del.status === 200, `DELETE keep.bin: ${del.status}`);
  const newSize = 16 * MiB;
  const newSum = await patternSha256(newSize, 'full-new');
  const p = await request(davUrl(W, 'after.bin'), {
    method: 'PUT',
    headers: { 'Content-Length': newSize },
    body: patternStream(newSize, 'full-new'),
  });
  t.ok(p.status === 201 || p.status === 204, `PUT 16 MiB after freeing space: ${p.status}`, { body: p.body.toString('utf8', 0, 300) });
  const back = await request(davUrl(W, 'after.bin'), { maxBody: 0 });
  t.equal(back.sha256, newSum, 'the new file reads back identical');

  t.same(await marble.stop(), { code: 0, signal: null }, 'SIGTERM: clean exit 0');
  // and a restart on the once-full disk keeps everything
  const again = await startMarble(t, { data, name: 'fulldisk' });
  t.equal((await request(davUrl(again.webdav, 'victim.bin'), { maxBody: 0 })).sha256, victimSum, 'after restart: victim.bin intact');
  t.equal((await request(davUrl(again.webdav, 'after.bin'), { maxBody: 0 })).sha256, newSum, 'after restart: after.bin intact');
  await again.stop();
});
