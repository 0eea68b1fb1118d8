/**
 * kill -9 in the middle of a 256 MiB PUT that replaces an existing file, then a restart on the
 * same data directory: the previous version is intact and readable, the database passes
 * `PRAGMA integrity_check`, every blob file belongs to a row of `data` and vice versa, and
 * tmp/ is empty (CONTRACTS.md, data directory layout).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { davUrl, patternSha256, patternStream, put, request } from '../helpers/http.js';
import { listFiles, MiB, startMarble } from '../helpers/marble.js';

const OLD_SIZE = 20 * MiB;
const NEW_SIZE = 256 * MiB;
const KILL_AFTER = 96 * MiB; // bytes handed to the socket before the crash

interface StoreCheck {
  integrity: string;
  dataIds: number[];
  blobFiles: string[];
  tmpFiles: string[];
}

/** Inspects a stopped instance's data directory. */
async function inspect(dir: string): Promise<StoreCheck> {
  const db = new Database(path.join(dir, 'marble.db'), { fileMustExist: true });
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    // Resident content (small versions) lives in its row: only the others have a file.
    const dataIds = (db.prepare('SELECT id FROM data WHERE content IS NULL ORDER BY id').all() as { id: number }[]).map((r) => Number(r.id));
    return {
      integrity,
      dataIds,
      blobFiles: await listFiles(path.join(dir, 'blobs')),
      tmpFiles: await listFiles(path.join(dir, 'tmp')),
    };
  } finally {
    db.close();
  }
}

const blobPath = (id: number) => `${(id & 0xff).toString(16).padStart(2, '0')}/${id}`;

t.test('kill -9 during a 256 MiB replacing PUT loses nothing and leaves no debris', async (t) => {
  const name = 'crashy';
  const first = await startMarble(t, { name });
  const data = first.data;
  const url = davUrl(first.webdav, 'victim.bin');
  const oldSum = await patternSha256(OLD_SIZE, 'crash-old');
  await put(url, patternStream(OLD_SIZE, 'crash-old'), { 'Content-Length': OLD_SIZE });
  const before = await request(url, { maxBody: 0 });
  t.equal(before.sha256, oldSum, 'the first version is stored');

  // start the replacing upload and SIGKILL the server once KILL_AFTER bytes are on their way
  let sentBytes = 0;
  let killed = false;
  const body = patternStream(NEW_SIZE, 'crash-new', (b) => {
    sentBytes += b.length;
    if (!killed && sentBytes >= KILL_AFTER) {
      killed = true;
      first.proc.kill('SIGKILL');
    }
  });
  const upload = request(url, { method: 'PUT', headers: { 'Content-Length': NEW_SIZE }, body, timeoutMs: 120_000 }).then(
    (r) => `HTTP ${r.status}`,
    (e: Error) => `failed: ${e.message}`,
  );
  const exit = await first.exited;
  t.equal(exit.signal, 'SIGKILL', `server killed with SIGKILL during the upload (${(sentBytes / MiB).toFixed(0)} MiB generated)`);
  const outcome = await upload;
  t.notMatch(outcome, /^HTTP 2/, `the interrupted upload did not succeed (${outcome})`);

  // restart on the same directory
  const second = await startMarble(t, { name, data });
  t.same(await listFiles(path.join(data, 'tmp')), [], 'after restart: tmp/ is empty (the interrupted upload was cleaned)');
  const url2 = davUrl(second.webdav, 'victim.bin');
  const after = await request(url2, { maxBody: 0 });
  t.equal(after.status, 200, 'after restart: GET the file: 200');
  t.equal(after.bodyBytes, OLD_SIZE, 'after restart: it has the old size');
  t.equal(after.sha256, oldSum, 'after restart: the previous version is intact (sha256)');

  // still writable, and a completed replacement works as usual
  const newSum = createHash('sha256');
  await put(url2, patternStream(8 * MiB, 'crash-after', (b) => newSum.update(b)), { 'Content-Length': 8 * MiB });
  const reread = await request(url2, { maxBody: 0 });
  t.equal(reread.sha256, newSum.digest('hex'), 'after restart: a new PUT replaces it normally');

  t.same(await second.stop(), { code: 0, signal: null }, 'SIGTERM: clean exit 0');

  const s = await inspect(data);
  t.equal(s.integrity, 'ok', 'PRAGMA integrity_check: ok');
  const expected = s.dataIds.map(blobPath).sort();
  t.same(s.blobFiles, expected, `blobs/ holds exactly one file per row of data (${s.dataIds.length} rows: ${s.dataIds.join(', ')})`);
  const orphans = s.blobFiles.filter((f) => !expected.includes(f));
  const missing = expected.filter((f) => !s.blobFiles.includes(f));
  t.same(orphans, [], 'no orphaned blob files');
  t.same(missing, [], 'no data row without its blob file');
  t.same(s.tmpFiles, [], 'tmp/ is empty');
});
