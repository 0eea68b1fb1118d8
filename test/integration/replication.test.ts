import t from 'tap';
import http from 'node:http';
import { eventually, get, startCluster, status, type Member } from '../helpers/cluster.js';
import { fullCollections, listCollection, mkcol, patternSha256, patternStream, put, request, sha256 } from '../helpers/http.js';
import { runMarbleCli, startMarble, tempDir } from '../helpers/marble.js';

const url = (m: Member, p: string) => m.marble.webdav + p.replace(/^\//, '');

async function sameOn(m: Member, p: string, digest: string): Promise<boolean> {
  const r = await get(m, p);
  return r.status === 200 && r.sha256 === digest;
}

t.test('a chain a–b–c carries files, folders, renames and deletes', async (t) => {
  const cluster = await startCluster(t, ['a', 'b', 'c'], [['b', 'a'], ['c', 'b']]);
  const [a, b, c] = [cluster.get('a'), cluster.get('b'), cluster.get('c')];

  const small = Buffer.from('hello from a\n');
  t.equal((await put(url(a, 'hello.txt'), small)).status, 201);
  const ms = await eventually('small file on c', () => sameOn(c, 'hello.txt', sha256(small)), 10_000, 5);
  t.pass(`small file visible on c after ${ms} ms`);

  const BIG = 256 * 1024 * 1024;
  const bigSha = await patternSha256(BIG, 'big');
  const collectionsBefore = await Promise.all([b, c].map((m) => fullCollections(m.marble.http)));
  t.equal((await request(url(a, 'big.bin'), { method: 'PUT', body: patternStream(BIG, 'big'), headers: { 'Content-Length': BIG } })).status, 201);
  await eventually('256 MiB file on c', () => sameOn(c, 'big.bin', bigSha), 120_000, 200);
  t.pass('256 MiB file identical on c');
  // Received blocks die young: a download that let them be promoted made V8 run a full
  // collection every ~30 ms (about twenty for 256 MiB). One may come when an instance is quiet.
  const collectionsAfter = await Promise.all([b, c].map((m) => fullCollections(m.marble.http)));
  for (const [i, name] of ['b', 'c'].entries()) {
    t.ok(collectionsAfter[i]! - collectionsBefore[i]! <= 3, `full collections on ${name} while 256 MiB arrived: ${collectionsAfter[i]! - collectionsBefore[i]!}`);
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  t.teardown(() => agent.destroy());
  const files: Array<[string, string]> = [];
  for (let d = 0; d < 20; d++) t.equal((await mkcol(url(a, `dir${d}`))).status, 201);
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let i = w; i < 2000; i += 4) {
        const body = Buffer.from(`file ${i} `.repeat(400));
        const p = `dir${i % 20}/f${i}.txt`;
        const r = await request(url(a, p), { method: 'PUT', body, agent });
        if (r.status !== 201) throw new Error(`PUT ${p}: ${r.status}`);
        files.push([p, sha256(body)]);
      }
    }),
  );
  await eventually('2000 files on c', async () => {
    let n = 0;
    for (let d = 0; d < 20; d++) n += (await listCollection(url(c, `dir${d}/`))).filter((e) => !e.isCollection).length;
    return n === 2000;
  }, 120_000, 250);
  for (const [p, digest] of files.filter((_, i) => i % 50 === 0)) t.ok(await sameOn(c, p, digest), `${p} identical on c`);

  t.equal((await request(url(a, 'big.bin'), { method: 'MOVE', headers: { Destination: url(a, 'renamed.bin') } })).status, 201);
  t.equal((await request(url(a, 'dir3'), { method: 'DELETE' })).status, 204);
  await eventually('rename and delete on c', async () => (await get(c, 'renamed.bin')).status === 200 && (await get(c, 'big.bin')).status === 404 && (await get(c, 'dir3/f3.txt')).status === 404, 30_000, 50);
  t.ok(await sameOn(c, 'renamed.bin', bigSha), 'renamed file keeps its content');
  const st = await status(cluster.get('b'));
  t.equal((st.peers as unknown[]).length, 2, 'b is connected to a and c');
  t.equal(st.missing, 0, 'nothing left to fetch on b');
});

t.test('concurrent edits become a split, and a resolution clears it everywhere', async (t) => {
  const cluster = await startCluster(t, ['a', 'b', 'c'], [['b', 'a'], ['c', 'b']]);
  const [a, b, c] = [cluster.get('a'), cluster.get('b'), cluster.get('c')];
  await put(url(a, 'doc.txt'), 'original\n');
  await eventually('doc on c', async () => (await get(c, 'doc.txt')).body.toString() === 'original\n');
  await cluster.stop('b');
  await put(url(a, 'doc.txt'), 'edited on a\n');
  await put(url(c, 'doc.txt'), 'edited on c\n');
  await cluster.start('b');
  for (const m of [a, b, c]) {
    await eventually(`split visible on ${m.name}`, async () => {
      const names = (await listCollection(url(m, '.splits/'))).map((e) => e.href);
      return names.some((h) => h.endsWith('/.splits/a/')) && names.some((h) => h.endsWith('/.splits/c/'));
    });
    // The split shows as soon as the changes are in; content may still be on its way (a loaded machine).
    for (const who of ['a', 'c']) {
      await eventually(`${m.name} reads ${who}'s version`, async () => (await get(m, `.splits/${who}/doc.txt`)).body.toString() === `edited on ${who}\n`, 30_000, 50);
      t.pass(`${m.name} shows ${who}'s version`);
    }
  }
  t.equal((await get(a, 'doc.txt')).body.toString(), 'edited on a\n', 'a shows its own version');
  t.equal((await get(c, 'doc.txt')).body.toString(), 'edited on c\n', 'c shows its own version');
  const onB = (await get(b, 'doc.txt')).body.toString();
  t.ok(['edited on a\n', 'edited on c\n'].includes(onB), 'b shows the top-ranked version');

  // resolve on b by deleting a's version in its split path: c's version wins everywhere
  t.equal((await request(url(b, '.splits/a/doc.txt'), { method: 'DELETE' })).status, 204);
  for (const m of [a, b, c]) {
    let seen = '';
    await eventually(`resolution on ${m.name}`, async () => {
      const body = (await get(m, 'doc.txt')).body.toString();
      const splits = (await listCollection(url(m, '.splits/'))).map((e) => e.href);
      seen = `${JSON.stringify(body)} ${splits.join(' ')}`;
      return body === 'edited on c\n' && splits.length === 0;
    }).catch((e) => {
      throw new Error(`${(e as Error).message}; last seen: ${seen}`);
    });
  }
  t.pass('all three agree and /.splits/ is empty');
  const versions = (await listCollection(url(a, '.history/doc.txt/'))).filter((e) => !e.isCollection);
  t.equal(versions.length, 3, 'every version is kept in history');
});

t.test('a peer with an untrusted key is refused', async (t) => {
  const cluster = await startCluster(t, ['a'], []);
  const a = cluster.get('a');
  const dir = await tempDir(t);
  await runMarbleCli(['init', '--data', `${dir}/x`, '--name', 'stranger']);
  const stranger = await startMarble(t, { data: `${dir}/x`, name: 'stranger', args: ['--trust', a.fingerprint, '--peer', `ws://127.0.0.1:${a.httpPort}/peer`] });
  await put(stranger.webdav + 'secret.txt', 'not for a');
  await eventually('refusal logged', async () => /not trusted/.test(a.marble.stderr()), 15_000, 100);
  t.equal((await get(a, 'secret.txt')).status, 404, 'nothing from the stranger arrives');
  t.same((await status(a)).peers, [], 'a has no peer');
});

t.test('a copied instance joins as a new instance without confusing the others', async (t) => {
  const cluster = await startCluster(t, ['a', 'b'], [['b', 'a']]);
  const [a, b] = [cluster.get('a'), cluster.get('b')];
  await put(url(b, 'from-b.txt'), 'written on b\n');
  await eventually('b → a', async () => (await get(a, 'from-b.txt')).status === 200);
  await cluster.stop('b');
  const copyDir = `${await tempDir(t)}/b-copy`;
  const { cpSync } = await import('node:fs');
  cpSync(b.data, copyDir, { recursive: true });
  await cluster.start('b');
  const copy = await startMarble(t, { data: copyDir, name: 'b', args: ['--trust', a.fingerprint, '--peer', `ws://127.0.0.1:${a.httpPort}/peer`] });
  const copyStatus = await (await request(`${copy.http}api/status`)).body.toString();
  const copyId = JSON.parse(copyStatus).id as string;
  t.not(copyId, b.id, 'the copy took a new instance id');
  await put(copy.webdav + 'from-copy.txt', 'written on the copy\n');
  await put(url(b, 'from-b-again.txt'), 'b goes on\n');
  await eventually('both reach a', async () => (await get(a, 'from-copy.txt')).status === 200 && (await get(a, 'from-b-again.txt')).status === 200);
  await eventually('the copy reaches b through a', async () => (await get(b, 'from-copy.txt')).body.toString() === 'written on the copy\n');
  const peers = (await status(a)).peers as Array<{ id: string }>;
  t.same(peers.map((p) => p.id).sort(), [b.id, copyId].sort(), 'a sees two distinct peers');
});
