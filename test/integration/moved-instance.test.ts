/**
 * A data directory copied elsewhere (a restored backup, a cloned VM) must not keep writing
 * under the same instance id (DESIGN §1): started from the copy it takes a new id and still
 * shows everything stored before; the original keeps its id.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { davUrl, patternBytes, put, request, sha256 } from '../helpers/http.js';
import { marbleId, startMarble, tempDir } from '../helpers/marble.js';

const run = promisify(execFile);

t.test('a copied data directory starts with a new instance id; the original keeps its own', async (t) => {
  const base = await tempDir(t, 'marble-moved-');
  const orig = path.join(base, 'orig');
  const copy = path.join(base, 'elsewhere', 'copy');

  const a = await startMarble(t, { data: orig, name: 'home' });
  const content = await patternBytes(200 * 1024, 'moved');
  await put(davUrl(a.webdav, 'kept.bin'), content);
  t.same(await a.stop(), { code: 0, signal: null }, 'original: clean stop');
  const idA = await marbleId(orig);
  t.match(idA, /\S{8,}/, `original id: ${idA}`);

  await run('mkdir', ['-p', path.dirname(copy)]);
  await run('cp', ['-a', orig, copy]);

  const b = await startMarble(t, { data: copy, name: 'home' });
  const got = await request(davUrl(b.webdav, 'kept.bin'));
  t.equal(got.status, 200, 'copy: a file stored before the copy is there');
  t.equal(got.sha256, sha256(content), 'copy: with the same content');
  await put(davUrl(b.webdav, 'new-in-copy.txt'), 'written in the copy\n');
  t.same(await b.stop(), { code: 0, signal: null }, 'copy: clean stop');
  const idB = await marbleId(copy);
  t.not(idB, idA, `copy has a different instance id (${idB} != ${idA})`);
  t.equal(await marbleId(copy), idB, 'copy: its new id is stable across calls');

  t.equal(await marbleId(orig), idA, 'original: keeps its id after the copy ran');
  const a2 = await startMarble(t, { data: orig, name: 'home' });
  const back = await request(davUrl(a2.webdav, 'kept.bin'));
  t.equal(back.sha256, sha256(content), 'original: still serves its file');
  t.equal((await request(davUrl(a2.webdav, 'new-in-copy.txt'))).status, 404, 'original: does not see what the copy wrote');
  await a2.stop();
  t.equal(await marbleId(orig), idA, 'original: same id after starting again');

  // restarting the copy in place does not mint yet another id
  const b2 = await startMarble(t, { data: copy, name: 'home' });
  await b2.stop();
  t.equal(await marbleId(copy), idB, 'copy: same id after starting again in the same place');
});
