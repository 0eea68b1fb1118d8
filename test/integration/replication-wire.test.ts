/**
 * The peer connection, measured and attacked from the outside:
 * - bytes on the wire between two real instances, counted by ../shared/tools/sync/count-proxy.js
 *   (B dials A through it): a 1-byte edit and a rename of a 256 MiB file each send < 1 MiB;
 * - kill -9 of the receiving instance halfway through a 256 MiB transfer: after a restart it
 *   resumes from its on-disk bitmap and the file ends identical;
 * - a hand-driven peer (raw `ws` client with a trusted key) sending garbage, oversized and
 *   out-of-order frames, and lying about content: each connection is closed with its
 *   documented code (CLOSE in src/replication/session.ts), the instance keeps serving and its
 *   database stays sound.
 */
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import t from 'tap';
import { BLOCK_SIZE } from '../../src/core/blocks.js';
import { CLOSE } from '../../src/replication/session.js';
import { INLINE_MAX, MAX_FRAME } from '../../src/replication/wire.js';
import { eventually } from '../helpers/cluster.js';
import { startCountProxy, type CountProxy } from '../helpers/count-proxy.js';
import { davUrl, listCollection, patternSha256, patternStream, put, request, sha256 } from '../helpers/http.js';
import { freePort, MiB, runMarbleCli, startMarble, tempDir, type Marble, type Teardown } from '../helpers/marble.js';
import { blockFrame, changesFrame, createChange, packedChangesFrame, RawPeer, rawIdentity, type RawIdentity } from '../helpers/raw-peer.js';

const BIG = 256 * MiB;
const BIG_BLOCKS = BIG / BLOCK_SIZE;
/** Blocks one download keeps requested (fetcher.ts: PIPELINE 4 x BATCH 16 x 128 KiB). */
const IN_FLIGHT = 64 * BLOCK_SIZE;

// ---- a pair: A serves, B dials A through a count-proxy ------------------------------------

interface Pair {
  a: Marble;
  b: Marble;
  proxy: CountProxy;
  /** Starts B again on its data directory (after a stop or kill). */
  restartB(): Promise<Marble>;
}

async function startPair(t: Teardown): Promise<Pair> {
  const root = await tempDir(t, 'marble-wire-');
  const init = async (name: string) => {
    const data = path.join(root, name);
    const { stdout } = await runMarbleCli(['init', '--data', data, '--name', name]);
    return { data, name, fingerprint: /^fingerprint: (\S+)$/m.exec(stdout)![1]! };
  };
  const [ia, ib] = [await init('a'), await init('b')];
  const aPort = await freePort();
  const a = await startMarble(t, { data: ia.data, name: 'a', args: ['--http', `127.0.0.1:${aPort}`, '--trust', ib.fingerprint] });
  const proxy = await startCountProxy(t, aPort);
  const bArgs = ['--trust', ia.fingerprint, '--peer', `ws://127.0.0.1:${proxy.port}/peer`];
  const startB = () => startMarble(t, { data: ib.data, name: 'b', args: bArgs });
  const pair: Pair = {
    a,
    b: await startB(),
    proxy,
    async restartB() {
      pair.b = await startB();
      return pair.b;
    },
  };
  await connected(pair);
  return pair;
}

async function status(m: Marble): Promise<Record<string, unknown>> {
  return JSON.parse((await request(`${m.http}api/status`)).body.toString()) as Record<string, unknown>;
}

/** One unlabelled sample from the instance's /metrics. */
async function metric(m: Marble, name: string): Promise<number> {
  const text = (await request(`${m.http}metrics`)).body.toString();
  const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line[1]);
}

async function connected(p: Pair): Promise<void> {
  await eventually('a and b connected', async () => ((await status(p.a)).peers as unknown[]).length === 1 && ((await status(p.b)).peers as unknown[]).length === 1, 20_000, 50);
}

/** B has nothing left to fetch and serves `name` with this sha256. */
async function bHas(p: Pair, name: string, digest: string): Promise<boolean> {
  const s = await status(p.b);
  if (s.missing !== 0) return false;
  const r = await request(davUrl(p.b.webdav, name), { maxBody: 0, timeoutMs: 60_000 });
  return r.status === 200 && r.sha256 === digest;
}

/** patternStream(size, seed) with the byte at `at` inverted. */
function editedStream(size: number, seed: string, at: number): Readable {
  let pos = 0;
  return patternStream(size, seed, (b) => {
    if (at >= pos && at < pos + b.length) b[at - pos]! ^= 0xff;
    pos += b.length;
  });
}

async function streamSha(s: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const b of s) h.update(b as Buffer);
  return h.digest('hex');
}

async function putBig(url: string, body: Readable): Promise<number> {
  return (await request(url, { method: 'PUT', body, headers: { 'Content-Length': BIG }, timeoutMs: 300_000 })).status;
}

const fmt = (n: number) => `${n} bytes (${(n / MiB).toFixed(3)} MiB)`;

// ---- (a) bytes on the wire ---------------------------------------------------------------

t.test('a 1-byte edit and a rename of a 256 MiB file each send under 1 MiB between the peers', async (t) => {
  const p = await startPair(t);
  const sum = await patternSha256(BIG, 'wire-big');
  const t0 = Date.now();
  t.equal(await putBig(davUrl(p.a.webdav, 'big.bin'), patternStream(BIG, 'wire-big')), 201, 'PUT 256 MiB on a');
  await eventually('big.bin identical on b', () => bHas(p, 'big.bin', sum), 300_000, 250);
  const first = await p.proxy.settled();
  t.ok(first.total > BIG && first.total < BIG * 1.01, `the first copy crossed the proxy: ${fmt(first.total)} in ${Date.now() - t0} ms`);

  const editedSum = await streamSha(editedStream(BIG, 'wire-big', BIG / 2));
  t.not(editedSum, sum, 'the edited file differs');
  t.equal(await putBig(davUrl(p.a.webdav, 'big.bin'), editedStream(BIG, 'wire-big', BIG / 2)), 204, 'PUT the file with one byte changed in the middle');
  await eventually('edited big.bin identical on b', () => bHas(p, 'big.bin', editedSum), 120_000, 250);
  const edited = await p.proxy.settled();
  const editBytes = edited.total - first.total;
  t.ok(editBytes < MiB, `1-byte edit sent ${fmt(editBytes)} (a->b ${edited.fromTarget - first.fromTarget}, b->a ${edited.toTarget - first.toTarget}); must be < 1 MiB`);

  t.equal((await request(davUrl(p.a.webdav, 'big.bin'), { method: 'MOVE', headers: { Destination: davUrl(p.a.webdav, 'renamed.bin') } })).status, 201, 'MOVE on a');
  await eventually('rename on b', async () => (await request(davUrl(p.b.webdav, 'big.bin'), { method: 'HEAD' })).status === 404 && (await bHas(p, 'renamed.bin', editedSum)), 60_000, 100);
  const renamed = await p.proxy.settled();
  const moveBytes = renamed.total - edited.total;
  t.ok(moveBytes < MiB, `rename sent ${fmt(moveBytes)}; must be < 1 MiB`);
  t.equal(renamed.connections, 1, 'one connection between the peers all along');
});

// ---- (b) kill -9 halfway, resume ---------------------------------------------------------

/** Blocks recorded in the `have` bitmap of B's one download in progress (null if none). */
function downloadedBlocks(data: string): number | null {
  const dir = path.join(data, 'downloads');
  const subs = existsSync(dir) ? readdirSync(dir) : [];
  if (subs.length !== 1) return null;
  const have = path.join(dir, subs[0]!, 'have');
  if (!existsSync(have)) return null;
  let n = 0;
  for (const byte of readFileSync(have)) for (let v = byte; v; v &= v - 1) n++;
  return n;
}

t.test('kill -9 of the receiver halfway through 256 MiB: it resumes, re-fetches little, ends identical', async (t) => {
  const p = await startPair(t);
  const start = await p.proxy.settled(500);
  const sum = await patternSha256(BIG, 'wire-resume');
  const upload = putBig(davUrl(p.a.webdav, 'resume.bin'), patternStream(BIG, 'wire-resume'));

  let atKill: number | null = null;
  await eventually('b halfway through the download', async () => {
    const n = downloadedBlocks(p.b.data);
    if (n === null || n < BIG_BLOCKS / 2) return false;
    await p.b.kill();
    atKill = n;
    return true;
  }, 300_000, 5);
  t.equal(await upload, 201, 'PUT 256 MiB on a');
  // The dead connection's last bytes may still be draining through the proxy (its stats file
  // is written every 100 ms): "after the restart" starts once it is quiet.
  const wireAtKill = await p.proxy.settled(500);
  const onDisk = downloadedBlocks(p.b.data)!;
  t.ok(onDisk >= atKill!, `b killed with ${atKill} of ${BIG_BLOCKS} blocks recorded (${onDisk} in the bitmap after the kill); ${fmt(wireAtKill.fromTarget - start.fromTarget)} had left a`);

  const b = await p.restartB();
  // the fetcher's own figures (/metrics), not /api/status bytesToFetch, which counts whole missing files
  let firstToFetch = -1;
  await eventually('b resumes', async () => {
    firstToFetch = await metric(b, 'marble_replication_download_bytes_remaining');
    return firstToFetch > 0 || (await status(b)).missing === 0;
  }, 20_000, 10);
  const remaining = (BIG_BLOCKS - onDisk) * BLOCK_SIZE;
  t.ok(firstToFetch <= remaining, `after the restart b's fetcher needs ${fmt(firstToFetch)}, no more than the ${BIG_BLOCKS - onDisk} blocks its bitmap lacks (${fmt(remaining)})`);
  await eventually('resume.bin identical on b', () => bHas(p, 'resume.bin', sum), 300_000, 250);
  const end = await p.proxy.settled();
  const total = end.total - start.total;
  const afterRestart = end.total - wireAtKill.total;
  t.ok(afterRestart < remaining + 2 * MiB, `after the restart ${fmt(afterRestart)} crossed the proxy for ${fmt(remaining)} missing`);
  // What was on its way when b died (the fetcher keeps PIPELINE x BATCH = 64 blocks, 8 MiB, in
  // flight per download) crossed the wire but never reached b's disk: it is fetched again.
  t.ok(total < BIG + IN_FLIGHT + 2 * MiB, `the whole transfer, both lives of b: ${fmt(total)} for ${fmt(BIG)} of content; must be < 256 MiB + 8 MiB in flight + 2 MiB`);
  t.ok(total < BIG + 4 * MiB, `the whole transfer < 256 MiB + 4 MiB (${fmt(total - BIG)} over)`, {
    todo: 'blocks in flight when the receiver dies (up to 64 x 128 KiB per download) cross the wire twice',
  });
  const received = await metric(b, 'marble_replication_blocks_received_total');
  const refetched = await metric(b, 'marble_replication_blocks_refetched_total');
  t.ok(received <= BIG_BLOCKS - onDisk + 8, `after the restart b received ${received} blocks for the ${BIG_BLOCKS - onDisk} it lacked (at most 8 more)`);
  t.ok(refetched <= 8, `blocks received again although held: ${refetched}`);
  t.equal(readdirSync(path.join(b.data, 'downloads')).length, 0, 'downloads/ is empty once the file is complete');
});

// ---- (c) a misbehaving peer --------------------------------------------------------------

/** Connects as `me`, runs `misbehave`, and returns how the server closed the connection. */
async function badSession(url: string, me: RawIdentity, misbehave: (p: RawPeer) => Promise<void> | void) {
  const peer = await RawPeer.connect(url, me);
  await misbehave(peer);
  return peer.closeFromServer();
}

interface DbCheck {
  integrity: string;
  changesFrom(origin: string): number;
  dataFor(origin: string): number;
}

function inspectDb(data: string): DbCheck {
  const db = new Database(path.join(data, 'marble.db'), { fileMustExist: true, readonly: true });
  const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  const count = (sql: string, origin: string) => (db.prepare(sql).get(`${origin}:%`) as { n: number }).n;
  const result: DbCheck = {
    integrity,
    changesFrom: (o) => count('SELECT count(*) AS n FROM changes WHERE id LIKE ?', o),
    dataFor: (o) => count('SELECT count(*) AS n FROM data WHERE change_id LIKE ?', o),
  };
  return result;
}

t.test('changes committed in quick succession travel together; one after a quiet moment leaves at once', async (t) => {
  const watcher = await rawIdentity(t, 'watcher');
  const a = await startMarble(t, { name: 'a', args: ['--trust', watcher.fingerprint] });
  const peer = await RawPeer.connect(`${a.http.replace(/^http/, 'ws')}peer`, watcher);
  t.teardown(() => peer.ws.terminate());
  const received = () => peer.changesFrames.flat().length;
  const FILES = 60;
  const statuses = new Set<number>();
  for (let i = 0; i < FILES; i += 3) {
    const three = [i, i + 1, i + 2].map((n) => put(davUrl(a.webdav, `f${n}.txt`), randomBytes(100)));
    for (const r of await Promise.all(three)) statuses.add(r.status);
  }
  t.same([...statuses], [201], `${FILES} PUTs, three at a time`);
  await eventually('every change reached the peer', async () => received() >= FILES, 20_000, 20);
  t.equal(received(), FILES, 'each change once');
  // Each commit is a frame of its own unless the sender gathers them (three PUTs end within a few ms).
  t.ok(peer.changesFrames.length <= FILES / 2, `${FILES} changes in ${peer.changesFrames.length} frames`);

  await new Promise((r) => setTimeout(r, 200));
  const frames = peer.changesFrames.length;
  const started = performance.now();
  t.equal((await put(davUrl(a.webdav, 'alone.txt'), randomBytes(100))).status, 201, 'PUT one more file after a quiet moment');
  await eventually('the lone change reached the peer', async () => peer.changesFrames.length > frames, 5_000, 1);
  // Not held for company (the gathering window is 10 ms); generous for a loaded machine.
  t.ok(performance.now() - started < 1000, `lone change arrived after ${(performance.now() - started).toFixed(0)} ms`);
});

t.test('malformed, oversized and out-of-order frames and a lying peer are dropped with their close codes', async (t) => {
  const [bad, liar, stranger] = [await rawIdentity(t, 'bad'), await rawIdentity(t, 'liar'), await rawIdentity(t, 'stranger')];
  const a = await startMarble(t, { name: 'a', args: ['--trust', bad.fingerprint, '--trust', liar.fingerprint] });
  const url = `${a.http.replace(/^http/, 'ws')}peer`;
  const keep = randomBytes(3000);
  t.equal((await put(davUrl(a.webdav, 'keep.bin'), keep)).status, 201, 'PUT a file before the bad peers come');
  const listing = async () => (await listCollection(a.webdav)).map((e) => decodeURIComponent(e.href)).sort();
  const before = await listing();
  const small = Buffer.from('hello from a peer that breaks the rules\n');

  await t.test('untrusted key: 4401', async (t) => {
    const err = await RawPeer.connect(url, stranger).then(() => null, (e: Error) => e.message);
    t.match(err, new RegExp(`closed during handshake: ${CLOSE.untrusted}\\b`), 'refused during the handshake');
  });

  await t.test('bad signature: 4403', async (t) => {
    // a trusted public key in the hello, but the challenge signed with another private key
    const other = (await rawIdentity(t, 'impostor')).key;
    const forged: RawIdentity = { ...bad, key: { ...other, publicKey: bad.key.publicKey, fingerprint: bad.fingerprint } };
    const err = await RawPeer.connect(url, forged).then(() => null, (e: Error) => e.message);
    t.match(err, new RegExp(`closed during handshake: ${CLOSE.badSignature}\\b`), 'refused during the handshake');
  });

  const cases: Array<[string, number, (p: RawPeer) => void]> = [
    ['a frame that is not JSON', CLOSE.badFrame, (p) => p.sendText('{"t":"changes","list":[')],
    ['JSON of an unknown message type', CLOSE.badFrame, (p) => p.sendJson({ t: 'gimme', all: true })],
    ['a change with a malformed field', CLOSE.badFrame, (p) => p.sendBinary(changesFrame([[{ ...createChange(bad.id, 1, 'x.txt', small), size: -1 }, small]]))],
    ['a change named ".."', CLOSE.badFrame, (p) => p.sendBinary(changesFrame([[createChange(bad.id, 1, '..', small), small]]))],
    ['inline content flagged in a text frame', CLOSE.badFrame, (p) => p.sendJson({ t: 'changes', list: [{ ...createChange(bad.id, 1, 'x.txt', small), inline: 1 }] })],
    ['a content frame whose JSON runs past its end', CLOSE.badFrame, (p) => p.sendBinary(changesFrame([[createChange(bad.id, 1, 'x.txt', small), small]]).subarray(0, 40))],
    ['a content frame shorter than its inline content', CLOSE.badFrame, (p) => p.sendBinary(changesFrame([[createChange(bad.id, 1, 'x.txt', small), small.subarray(1)]]))],
    ['a content frame with bytes after its inline content', CLOSE.badFrame, (p) => p.sendBinary(changesFrame([[createChange(bad.id, 1, 'x.txt', small), small]], Buffer.from('x')))],
    ['a changes frame holding another message', CLOSE.badFrame, (p) => p.sendBinary(packedChangesFrame('{"t":"done","req":1}'))],
    ['a changes frame whose JSON does not inflate', CLOSE.badFrame, (p) => p.sendBinary(Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 20]), Buffer.from('{"t":"done","req":1}')]))],
    ['a changes frame that is not JSON', CLOSE.badFrame, (p) => p.sendBinary(packedChangesFrame('{"t":"changes","list":['))],
    ['an answer to a request never made', CLOSE.badFrame, (p) => p.sendJson({ t: 'done', req: 77 })],
    ['a content frame for a request never made', CLOSE.badFrame, (p) => p.sendBinary(blockFrame(5, 0, small))],
    [`an oversized frame (${MAX_FRAME / MiB} MiB + 1 KiB)`, 1009, (p) => p.sendText(JSON.stringify({ t: 'changes', list: [], pad: 'x'.repeat(MAX_FRAME + 1024) }))],
    ['a change out of order (counter gap: 2 first)', CLOSE.outOfOrder, (p) => p.sendBinary(changesFrame([[createChange(bad.id, 2, 'gap.txt', small), small]]))],
    [
      'a change whose parent was never sent',
      CLOSE.outOfOrder,
      (p) => {
        const ghost = `${randomUUID()}:1`;
        p.sendBinary(changesFrame([[{ ...createChange(bad.id, 1, 'orphan.txt', small), kind: 'write', parent: ghost, node: ghost }, small]]));
      },
    ],
  ];
  for (const [what, code, misbehave] of cases) {
    await t.test(`${what}: ${code}`, async (t) => {
      const closed = await badSession(url, bad, misbehave);
      t.equal(closed.code, code, `closed with ${closed.code} ${JSON.stringify(closed.reason)}`);
      t.ok(a.alive(), 'the instance is still running');
    });
  }

  let lieChange = '';
  await t.test('content that does not match its hashes: 4406', async (t) => {
    const content = randomBytes(INLINE_MAX * 4); // too big to travel inline: a want follows
    const closed = await badSession(url, liar, async (p) => {
      const change = createChange(liar.id, 1, 'lie.bin', content);
      lieChange = change.id as string;
      p.sendJson({ t: 'changes', list: [change] });
      const want = await p.next('want');
      t.equal(want.change, lieChange, `a asks for the content (blocks ${JSON.stringify(want.blocks)})`);
      for (const index of want.blocks as number[]) p.sendBinary(blockFrame(want.req as number, index, randomBytes(BLOCK_SIZE)));
      p.sendJson({ t: 'done', req: want.req });
    });
    t.equal(closed.code, CLOSE.badHash, `closed with ${closed.code} ${JSON.stringify(closed.reason)}`);
  });

  await t.test('inline content that does not match its hashes: 4406', async (t) => {
    const content = Buffer.from('the content the hashes describe\n');
    const other = Buffer.from('something else of the same size\n');
    t.equal(other.length, content.length, 'the lie has the announced size');
    const closed = await badSession(url, liar, (p) => p.sendBinary(changesFrame([[createChange(liar.id, 2, 'lie-inline.txt', content), other]])));
    t.equal(closed.code, CLOSE.badHash, `closed with ${closed.code} ${JSON.stringify(closed.reason)}`);
  });

  // the instance still serves, and shows nothing it was lied to about
  const probe = randomBytes(5000);
  t.equal((await put(davUrl(a.webdav, 'after.bin'), probe)).status, 201, 'WebDAV PUT still works');
  const got = await request(davUrl(a.webdav, 'after.bin'));
  t.equal(got.sha256, sha256(probe), 'WebDAV GET still works');
  t.equal((await request(davUrl(a.webdav, 'keep.bin'))).sha256, sha256(keep), 'earlier content intact');
  const after = (await listing()).filter((h) => !h.endsWith('/after.bin'));
  const fromBad = after.filter((h) => !before.includes(h));
  t.same(fromBad.filter((h) => !/\/lie(-inline)?\.(bin|txt)$/.test(h)), [], 'nothing from the bad frames is listed');
  for (const name of ['lie.bin', 'lie-inline.txt']) {
    const r = await request(davUrl(a.webdav, name), { timeoutMs: 30_000 });
    t.not(r.status, 200, `${name}: the liar's bytes are never served (GET ${r.status}${fromBad.some((h) => h.endsWith(`/${name}`)) ? ', the name is listed' : ''})`);
  }
  t.same(fromBad, [], "nothing from the liar is listed", {
    todo: 'a change is stored (and listed, pending) before its content is verified: the liar\'s names stay listed, GET 503, until an honest peer has the content',
  });
  const st = await status(a);
  t.same(st.peers, [], 'no peer left connected');

  t.equal((await a.stop()).code, 0, 'clean stop');
  const db = inspectDb(a.data);
  t.equal(db.integrity, 'ok', 'PRAGMA integrity_check: ok');
  t.equal(db.changesFrom(bad.id), 0, 'no change from the peer that sent bad frames was stored');
  t.equal(db.dataFor(liar.id), 0, 'no content from the liar was stored');
});
