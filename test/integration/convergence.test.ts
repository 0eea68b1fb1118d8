/**
 * Randomized convergence (DESIGN §6, the invariant): several real `marble serve` processes
 * in a ring, random WebDAV operations on random instances interleaved with SIGTERM and
 * kill -9 restarts, cut links and isolated instances; then heal, wait until quiescent, and
 * prove that every instance holds the same heads and changes, that every body a PUT stored
 * is still held on every instance (head or history), that every blob matches its recorded
 * block hashes, that every live head reads back over WebDAV, and that the main views agree
 * wherever the split trees (also compared, exactly) agree.
 *
 * Seeded: MARBLE_SEED=N reproduces a run's operations (replication timing still varies).
 * MARBLE_CONVERGENCE_OPS (steps per round, default 300), MARBLE_CONVERGENCE_ROUNDS (default
 * 1; round r uses seed + r), MARBLE_CONVERGENCE_INSTANCES (default 3). History retention is
 * unbounded in this test (--history-keep 1000000), so every version's content must survive.
 */
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { status, type Member } from '../helpers/cluster.js';
import {
  davSnapshot,
  dbSnapshot,
  describeNode,
  lineDiff,
  treeDiff,
  type DavSnapshot,
  type DbSnapshot,
  type TreeSnap,
} from '../helpers/convergence-check.js';
import { Workload } from '../helpers/convergence-workload.js';
import { startProxiedCluster, type ProxiedCluster } from '../helpers/proxied-cluster.js';
import { seedFrom } from '../helpers/rng.js';
import { parseSameNameAlias } from '../../src/fs/same-name-alias.js';
import { davUrl, listCollection, mkcol, patternBytes, put, request, sha256 } from '../helpers/http.js';

const STEPS = Number(process.env.MARBLE_CONVERGENCE_OPS ?? 300);
const ROUNDS = Number(process.env.MARBLE_CONVERGENCE_ROUNDS ?? 1);
const INSTANCES = Number(process.env.MARBLE_CONVERGENCE_INSTANCES ?? 3);
const QUIESCE_TIMEOUT_MS = Number(process.env.MARBLE_CONVERGENCE_QUIESCE_MS ?? 150_000);
// CI runs one fixed seed, so a red run is reproducible and a green one stays green;
// anywhere else an unset MARBLE_SEED means a fresh random seed (printed).
const CI_SEED = 7002;
const baseSeed = process.env.CI === 'true' && !process.env.MARBLE_SEED ? CI_SEED : seedFrom('MARBLE_SEED');
/**
 * A known bug's reason (reported as a todo), or false once fixed (it fails the test again).
 * Every class found so far is fixed; MARBLE_CONVERGENCE_NO_TODO=1 is kept for the next one.
 */
const known = (why: string): string | false => (process.env.MARBLE_CONVERGENCE_NO_TODO === '1' || !KNOWN_BUGS.has(why) ? false : why);
const KNOWN_BUGS = new Set<string>();

const NAMES = 'abcdefgh'.slice(0, Math.max(3, Math.min(8, INSTANCES))).split('');
/** A ring: each instance dials the previous one, the first dials the last. */
const LINKS: Array<[string, string]> = NAMES.map((n, i) => [n, NAMES[(i + NAMES.length - 1) % NAMES.length]!]);

t.comment(`convergence: MARBLE_SEED=${baseSeed} MARBLE_CONVERGENCE_OPS=${STEPS} MARBLE_CONVERGENCE_ROUNDS=${ROUNDS} instances ${NAMES.join(',')}`);

for (let r = 0; r < ROUNDS; r++) {
  const seed = (baseSeed + r) >>> 0;
  t.test(`random operations and faults converge (seed ${seed}, ${STEPS} steps)`, (t) => round(t, seed));
}

async function round(t: Test, seed: number): Promise<void> {
  const tag = `[MARBLE_SEED=${seed} MARBLE_CONVERGENCE_OPS=${STEPS}]`;
  const report: string[] = [];
  let cluster: ProxiedCluster | null = null;
  let workload: Workload | null = null;
  const problems: string[] = [];
  const fail = (msg: string) => problems.push(msg);
  const todos: Array<[string, string]> = [];
  const t0 = Date.now();
  try {
    cluster = await startProxiedCluster(t, NAMES, LINKS, ['--history-keep', '1000000', '--log-level', 'info']);
    workload = new Workload(cluster, seed);
    await workload.run(0, STEPS);
    const tOps = Date.now();
    await workload.heal();
    report.push(`ops took ${tOps - t0} ms`);
    const quiet = await waitQuiescent(cluster, report);
    report.push(`quiescent after ${quiet} ms`);

    const dav = new Map<string, DavSnapshot>();
    for (const m of cluster.members.values()) dav.set(m.name, await davSnapshot(m.marble.webdav));
    for (const m of cluster.members.values()) {
      const exit = await m.marble.stop();
      if (exit.code !== 0) fail(`${m.name} exited with code ${exit.code} signal ${exit.signal} on SIGTERM`);
    }
    const dbs = new Map<string, DbSnapshot>();
    for (const m of cluster.members.values()) dbs.set(m.name, dbSnapshot(m.data));

    compareDatabases(dbs, fail);
    for (const name of NAMES) workload.collectWarnings(name);
    checkWritten(dbs, workload.written, workload.warnings, fail, (m) => todos.push([m, ABANDONED_TODO]));
    checkHeadsReadable(dbs, dav, fail, (m, why) => todos.push([m, why]));
    compareViews(dav, fail);

    const first = dbs.get(NAMES[0]!)!;
    const splitNodes = new Set(first.heads.map((h) => h.node_id).filter((id, i, all) => all.indexOf(id) !== i)).size;
    t.comment(
      `${tag} steps ${STEPS}, ops ${workload.stats.ops} (skipped ${workload.stats.skipped}), ` +
        `ok ${JSON.stringify(workload.stats.ok)}, refused ${JSON.stringify(workload.stats.refused)}, faults ${JSON.stringify(workload.stats.faults)}; ` +
        `changes ${first.changeIds.length}, heads ${first.heads.length}, split nodes ${splitNodes}, ` +
        `split trees ${[...dav.get(NAMES[0]!)!.splits.keys()].join(',') || 'none'}, bodies stored ${workload.written.size}; ${report.join('; ')}; ${Date.now() - t0} ms`,
    );
    const okOps = Object.values(workload.stats.ok).reduce((a, b) => a + b, 0);
    t.ok(okOps >= (workload.stats.ops - workload.stats.skipped) / 4, `${tag} at least a quarter of the operations succeeded (${okOps})`);
  } catch (e) {
    fail(`run aborted: ${(e as Error).stack ?? String(e)}`);
  }

  for (const [m, why] of todos) {
    if (known(why)) t.fail(`${tag} ${m}`, { todo: why });
    else fail(m);
  }
  if (problems.length) {
    const file = path.join(os.tmpdir(), `marble-convergence-${seed}-${Date.now()}.log`);
    const logs = cluster
      ? [...cluster.members.values()].map((m: Member) => `--- ${m.name} stderr (tail, warn and above) ---\n${warnLines(m.marble.stderr())}`)
      : [];
    writeFileSync(file, [`${tag}`, ...problems, '', '--- operations ---', ...(workload?.log ?? []), '', ...report, ...logs].join('\n') + '\n');
    for (const p of problems.slice(0, 30)) t.fail(`${tag} ${p.slice(0, 4000)}`);
    if (problems.length > 30) t.fail(`${tag} ... and ${problems.length - 30} more problems`);
    t.comment(`${tag} full report (operations, problems, logs): ${file}; rerun with MARBLE_SEED=${seed} MARBLE_KEEP_TMP=1 to keep the data directories`);
  } else {
    t.pass(`${tag} all ${NAMES.length} instances converged: same heads, same changes, views agree${todos.length ? ` (${todos.length} known-bug todos above)` : ', every stored body kept'}`);
  }
}

function warnLines(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => /"level":(4|5|6)0/.test(l) || (l && !l.startsWith('{')))
    .slice(-60)
    .join('\n');
}

/**
 * Waits until every instance is connected to all its neighbours, has nothing missing or
 * queued, and all hold the same number of changes, unchanged over several polls.
 */
async function waitQuiescent(cluster: ProxiedCluster, report: string[]): Promise<number> {
  const t0 = Date.now();
  let stable = 0;
  let last = '';
  let seen = '';
  for (;;) {
    const rows: string[] = [];
    let ok = true;
    for (const m of cluster.members.values()) {
      const s = await status(m).catch((e: Error) => ({ error: e.message }) as Record<string, unknown>);
      const degree = new Set(cluster.linksOf(m.name).map((l) => (l.from === m.name ? l.to : l.from))).size;
      const peers = Array.isArray(s.peers) ? (s.peers as Array<{ lag: number }>) : [];
      rows.push(`${m.name}: changes=${s.changes} missing=${s.missing} queued=${s.queuedDownloads} peers=${peers.length}/${degree} lag=${peers.map((p) => p.lag).join(',')}`);
      if (s.error || peers.length !== degree || s.missing !== 0 || s.queuedDownloads !== 0 || peers.some((p) => p.lag !== 0)) ok = false;
    }
    const counts = new Set(rows.map((r) => /changes=(\S+)/.exec(r)![1]));
    if (counts.size !== 1) ok = false;
    const now = rows.join(' | ');
    seen = now;
    stable = ok && now === last ? stable + 1 : 0;
    last = now;
    if (stable >= 3) {
      report.push(`final status ${now}`);
      return Date.now() - t0;
    }
    if (Date.now() - t0 > QUIESCE_TIMEOUT_MS) throw new Error(`not quiescent after ${QUIESCE_TIMEOUT_MS} ms: ${seen}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** (1) identical heads, (2) identical change ids, no missing, no pending heads, sound blobs. */
function compareDatabases(dbs: Map<string, DbSnapshot>, fail: (m: string) => void): void {
  const [refName, ref] = [...dbs][0]!;
  for (const [name, db] of dbs) {
    for (const p of db.problems.slice(0, 10)) fail(`${name}: ${p}`);
    if (db.missing) fail(`${name}: ${db.missing} missing rows after quiescence`);
    const pending = db.heads.filter((h) => h.pending);
    if (pending.length) fail(`${name}: ${pending.length} heads still pending content, e.g. ${pending[0]!.node_id} ${pending[0]!.change_id}`);
    if (name === refName) continue;
    const heads = lineDiff(ref.headLines, db.headLines);
    if (heads.onlyA.length || heads.onlyB.length) {
      fail(`heads differ between ${refName} and ${name}:\n  only on ${refName}:\n    ${heads.onlyA.join('\n    ')}\n  only on ${name}:\n    ${heads.onlyB.join('\n    ')}`);
    }
    const changes = lineDiff(ref.changeIds, db.changeIds);
    if (changes.onlyA.length || changes.onlyB.length) {
      fail(`change ids differ between ${refName} (${ref.changeIds.length}) and ${name} (${db.changeIds.length}): only on ${refName}: ${changes.onlyA.join(' ')}; only on ${name}: ${changes.onlyB.join(' ')}`);
    }
  }
}

const ABANDONED_TODO =
  'known bug: an instance gives up fetching a superseded version for history when the connected peers it asked lack it, though its origin (not connected at that moment) still holds it ("no connected peer still has this superseded version")';

/**
 * (3) every body a PUT stored is held (as a head's content or in history) on every instance:
 * the one that stored it and every other. A version the instance logged as abandoned ("no
 * connected peer still has this superseded version") is the known bug ABANDONED_TODO (a
 * todo); any other loss fails.
 */
function checkWritten(
  dbs: Map<string, DbSnapshot>,
  written: Map<string, { what: string; inst: string }>,
  warnings: Map<string, string[]>,
  fail: (m: string) => void,
  todo: (m: string) => void,
): void {
  for (const [name, db] of dbs) {
    const abandoned = new Set(
      (warnings.get(name) ?? []).filter((l) => l.includes('no connected peer still has this superseded version')).map((l) => /"change":"([^"]+)"/.exec(l)?.[1]),
    );
    const hard: string[] = [];
    const known: string[] = [];
    for (const [sha, w] of written) {
      if (db.blobShas.has(sha)) continue;
      const changes = dbs.get(w.inst)!.changesOfSha.get(sha) ?? [];
      const line = `${sha.slice(0, 12)} from ${w.what} (change ${changes.join(',') || '?'})`;
      (name !== w.inst && changes.length && changes.every((c) => abandoned.has(c)) ? known : hard).push(line);
    }
    if (hard.length) fail(`${name}: ${hard.length} of ${written.size} stored bodies are held nowhere on ${name} (neither a head nor history):\n    ${hard.slice(0, 10).join('\n    ')}`);
    if (known.length) todo(`${name}: ${known.length} of ${written.size} stored bodies were abandoned by ${name} ("no connected peer still has this superseded version") and are not in its history:\n    ${known.slice(0, 5).join('\n    ')}`);
  }
}

const UNREACHABLE_TODO =
  'a live file reachable neither on the main path nor under /.splits/ (under its name or its same-name alias)';

/**
 * (4) every live head with content reads back over WebDAV, on the main or a split path,
 * under its name or (two same-named nodes of one instance) its alias in its split tree.
 */
function checkHeadsReadable(dbs: Map<string, DbSnapshot>, dav: Map<string, DavSnapshot>, fail: (m: string) => void, todo: (m: string, why: string) => void): void {
  for (const [name, db] of dbs) {
    const snap = dav.get(name)!;
    const readable = new Set<string>();
    const add = (tree: TreeSnap) => {
      for (const [p, n] of tree) {
        if (n.dir || n.status !== 200) continue;
        const shown = p.slice(p.lastIndexOf('/') + 1);
        readable.add(`${parseSameNameAlias(shown)?.name ?? shown} ${n.sha256}`);
      }
    };
    add(snap.main);
    for (const tree of snap.splits.values()) add(tree);
    const unreadable = db.heads.filter((h) => !h.deleted && !h.is_dir && h.data_id !== null && !readable.has(`${h.name} ${db.shaOfData.get(h.data_id)}`));
    if (unreadable.length) {
      todo(`${name}: ${unreadable.length} live heads do not read back over WebDAV under their name with their content (main or /.splits/), e.g.\n    ${unreadable.slice(0, 8).map((h) => `${h.node_id} ${h.change_id} ${JSON.stringify(h.name)} in ${h.parent_dir} (${h.size} B)`).join('\n    ')}`, UNREACHABLE_TODO);
    }
    for (const [tree, snapOf] of [['main', snap.main] as const, ...[...snap.splits].map(([n, s]) => [`.splits/${n}`, s] as const)]) {
      const bad = [...snapOf].filter(([, n]) => !n.dir && (n.status !== 200 || n.size < 0));
      if (bad.length) fail(`${name}: ${tree} lists files that do not read back: ${bad.slice(0, 8).map(([p, n]) => `${p} ${describeNode(n)}`).join(', ')}`);
    }
  }
}

/**
 * (5) /.splits/ trees identical on every instance; main views identical wherever the split
 * trees agree (a split or name collision legitimately shows each instance its own head).
 */
function compareViews(dav: Map<string, DavSnapshot>, fail: (m: string) => void): void {
  const [refName, ref] = [...dav][0]!;
  for (const [name, snap] of dav) {
    if (name === refName) continue;
    const a = [...ref.splits.keys()].sort().join(',');
    const b = [...snap.splits.keys()].sort().join(',');
    if (a !== b) {
      fail(`/.splits/ lists ${a || 'nothing'} on ${refName} but ${b || 'nothing'} on ${name}`);
      continue;
    }
    for (const [inst, tree] of ref.splits) {
      const diff = treeDiff(tree, snap.splits.get(inst)!);
      if (diff.length) fail(`/.splits/${inst}/ differs between ${refName} and ${name}: ${diff.slice(0, 10).map((p) => `${p}: ${describeNode(tree.get(p))} vs ${describeNode(snap.splits.get(inst)!.get(p))}`).join('; ')}`);
    }
  }
  // paths where the split trees disagree: they, and everything below them, may differ between main views
  const disputed = new Set<string>();
  const trees = [...ref.splits.values()];
  for (let i = 1; i < trees.length; i++) for (const p of treeDiff(trees[0]!, trees[i]!)) disputed.add(p);
  const undisputed = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) if (disputed.has(parts.slice(0, i).join('/'))) return false;
    return true;
  };
  for (const [name, snap] of dav) {
    if (name === refName) continue;
    const diff = treeDiff(ref.main, snap.main).filter(undisputed);
    if (diff.length) {
      fail(`main views differ between ${refName} and ${name} outside any split: ${diff.slice(0, 10).map((p) => `${p}: ${describeNode(ref.main.get(p))} vs ${describeNode(snap.main.get(p))}`).join('; ')}`);
    }
  }
}

/**
 * Reduced from the random test (MARBLE_SEED=1, 60 steps: c caught up on a's create of f3.txt
 * and b's edit of it in one batch and never fetched the first version; fixed in ce948b3).
 * Versions written while an instance was away must still open from its history.
 */
t.test('a version superseded before a peer fetched it still opens from that peer\'s history', async (t) => {
  const cluster = await startProxiedCluster(t, ['a', 'b'], [['b', 'a']], ['--history-keep', '1000000']);
  const [a, b] = [cluster.get('a'), cluster.get('b')];
  await cluster.stop('b');
  const v1 = await patternBytes(300 * 1024, 'superseded-v1');
  const v2 = Buffer.from(v1);
  v2[200_000] = v2[200_000]! ^ 0x5a;
  await put(davUrl(a.marble.webdav, 'f.bin'), v1);
  await put(davUrl(a.marble.webdav, 'f.bin'), v2);
  await cluster.start('b');
  await waitQuiescent(cluster, []);
  for (const m of [a, b]) {
    const versions = (await listCollection(davUrl(m.marble.webdav, '.history', 'f.bin') + '/')).filter((e) => !e.isCollection);
    const got = await Promise.all(versions.map(async (v) => (await request(new URL(v.href, m.marble.webdav).href, { maxBody: 0 })).sha256 + ''));
    t.same(new Set(got), new Set([sha256(v1), sha256(v2)]), `${m.name}: both versions open from /.history/f.bin/`);
  }
});

/** Two instances a, b with their one link cut while `during` runs, then healed and quiescent. */
async function partitioned(t: Test, during: (a: Member, b: Member) => Promise<void>, before: (a: Member) => Promise<void>): Promise<ProxiedCluster> {
  const cluster = await startProxiedCluster(t, ['a', 'b'], [['b', 'a']], ['--history-keep', '1000000']);
  const [a, b] = [cluster.get('a'), cluster.get('b')];
  await before(a);
  await waitQuiescent(cluster, []);
  cluster.links[0]!.proxy.cut();
  await during(a, b);
  cluster.links[0]!.proxy.restore();
  await waitQuiescent(cluster, []);
  return cluster;
}

/**
 * Reduced from MARBLE_SEED=3551970941 (live heads in a folder nobody could reach; fixed in
 * ce948b3): a live file keeps its concurrently deleted folders visible at any depth (DESIGN §5).
 */
t.test('a file edited while another instance deleted its grandparent folder stays reachable', async (t) => {
  const cluster = await partitioned(
    t,
    async (a, b) => {
      await request(davUrl(b.marble.webdav, 'd'), { method: 'DELETE', headers: { Depth: 'infinity' } });
      await put(davUrl(a.marble.webdav, 'd/e/f.txt'), 'edited on a while b deleted d\n');
    },
    async (a) => {
      await mkcol(davUrl(a.marble.webdav, 'd'));
      await mkcol(davUrl(a.marble.webdav, 'd/e'));
      await put(davUrl(a.marble.webdav, 'd/e/f.txt'), 'original\n');
    },
  );
  for (const m of cluster.members.values()) {
    const r = await request(davUrl(m.marble.webdav, 'd/e/f.txt'));
    t.equal(`${r.status} ${r.body}`, '200 edited on a while b deleted d\n', `${m.name}: the edit is reachable at d/e/f.txt`);
  }
});

/** DESIGN §5: concurrent moves that would make a cycle resolve the same way everywhere. */
t.test('concurrent moves x into y and y into x leave one tree, the same everywhere, with nothing lost', async (t) => {
  const cluster = await partitioned(
    t,
    async (a, b) => {
      t.equal((await request(davUrl(a.marble.webdav, 'x'), { method: 'MOVE', headers: { Destination: davUrl(a.marble.webdav, 'y/x') } })).status, 201);
      t.equal((await request(davUrl(b.marble.webdav, 'y'), { method: 'MOVE', headers: { Destination: davUrl(b.marble.webdav, 'x/y') } })).status, 201);
    },
    async (a) => {
      await mkcol(davUrl(a.marble.webdav, 'x'));
      await mkcol(davUrl(a.marble.webdav, 'y'));
      await put(davUrl(a.marble.webdav, 'x/in-x.txt'), 'x\n');
      await put(davUrl(a.marble.webdav, 'y/in-y.txt'), 'y\n');
    },
  );
  const views = new Map<string, string[]>();
  for (const m of cluster.members.values()) {
    const snap = await davSnapshot(m.marble.webdav);
    views.set(m.name, [...snap.main.keys()].sort());
    const files = [...snap.main.keys()].map((p) => p.slice(p.lastIndexOf('/') + 1));
    t.ok(files.includes('in-x.txt') && files.includes('in-y.txt'), `${m.name}: both files still reachable (main view: ${[...snap.main.keys()].join(' ')})`);
  }
  t.same(views.get('a'), views.get('b'), 'a and b show the same tree');
});

/**
 * Reduced from MARBLE_SEED=1003 (1000 steps): b deletes folder d and makes a new d while a
 * edits d/f.txt. The old d stays (deleted, with a live child) but the new live d takes its
 * name in every tree, and /.splits/ does not list it as a collision: the edit is unreachable.
 */
t.test('a file edited while another instance deleted and re-created its folder stays reachable', async (t) => {
  const cluster = await partitioned(
    t,
    async (a, b) => {
      t.equal((await request(davUrl(b.marble.webdav, 'd'), { method: 'DELETE', headers: { Depth: 'infinity' } })).status, 204);
      await mkcol(davUrl(b.marble.webdav, 'd'));
      await put(davUrl(a.marble.webdav, 'd/f.txt'), 'edited on a\n');
    },
    async (a) => {
      await mkcol(davUrl(a.marble.webdav, 'd'));
      await put(davUrl(a.marble.webdav, 'd/f.txt'), 'original\n');
    },
  );
  for (const m of cluster.members.values()) {
    const snap = await davSnapshot(m.marble.webdav);
    const where = [...snap.main].filter(([p]) => p.endsWith('f.txt')).map(([p]) => p);
    for (const [n, tree] of snap.splits) for (const [p] of tree) if (p.endsWith('f.txt')) where.push(`.splits/${n}/${p}`);
    t.ok(where.length > 0, `${m.name}: the edited f.txt is reachable (found at: ${where.join(', ') || 'nowhere'})`);
  }
});

/**
 * Reduced from MARBLE_SEED=7003 (1000 steps): two files of one instance end up with one name in
 * one folder as shown (a's file edited in D1, which b deleted, merged with D2, which b renamed
 * to D1 and which holds a's other f.txt). The instance's ranking cannot tell them apart, so
 * /.splits/a/ shows the one main hides under its alias; both stay readable, on every instance.
 */
t.test('two same-named files of one instance in folders shown merged both stay readable', async (t) => {
  const cluster = await partitioned(
    t,
    async (a, b) => {
      t.equal((await request(davUrl(b.marble.webdav, 'D1'), { method: 'DELETE', headers: { Depth: 'infinity' } })).status, 204);
      t.equal((await request(davUrl(b.marble.webdav, 'D2'), { method: 'MOVE', headers: { Destination: davUrl(b.marble.webdav, 'D1') } })).status, 201);
      await put(davUrl(a.marble.webdav, 'D1/f.txt'), 'edited in D1 on a\n');
    },
    async (a) => {
      for (const d of ['D1', 'D2']) {
        await mkcol(davUrl(a.marble.webdav, d));
        await put(davUrl(a.marble.webdav, `${d}/f.txt`), `first in ${d}\n`);
      }
    },
  );
  const bodies = [sha256(Buffer.from('edited in D1 on a\n')), sha256(Buffer.from('first in D2\n'))];
  for (const m of cluster.members.values()) {
    const snap = await davSnapshot(m.marble.webdav);
    const found = new Map<string, string>();
    for (const [p, n] of snap.main) if (!n.dir) found.set(n.sha256, p);
    for (const [name, tree] of snap.splits) for (const [p, n] of tree) if (!n.dir && !found.has(n.sha256)) found.set(n.sha256, `.splits/${name}/${p}`);
    for (const sha of bodies) t.ok(found.has(sha), `${m.name}: ${sha.slice(0, 12)} is readable (at ${found.get(sha) ?? 'nowhere'})`);
  }
});

/**
 * Reduced from MARBLE_SEED=1006 (1000 steps): a TRUNCATE of a 417,441-byte f1.bin to
 * 393,261 bytes on a left c with a 417,441-byte blob for the new version (its recorded size
 * and block hashes said 393,261). A shorter version must arrive exactly.
 */
t.test('a shorter version of a multi-block file arrives truncated on the peer', async (t) => {
  const cluster = await startProxiedCluster(t, ['a', 'b'], [['b', 'a']], ['--history-keep', '1000000']);
  const [a, b] = [cluster.get('a'), cluster.get('b')];
  const long = await patternBytes(417_441, 'truncate-long');
  await put(davUrl(a.marble.webdav, 'f1.bin'), long);
  await waitQuiescent(cluster, []);
  for (const keep of [393_261, 300_000, 131_072, 70_000]) {
    const short = long.subarray(0, keep);
    await put(davUrl(a.marble.webdav, 'f1.bin'), short);
    await waitQuiescent(cluster, []);
    const r = await request(davUrl(b.marble.webdav, 'f1.bin'), { maxBody: 0 });
    t.equal(`${r.status} ${r.bodyBytes} ${r.sha256}`, `200 ${keep} ${sha256(short)}`, `b reads the ${keep}-byte version exactly`);
  }
});

/** The same with the receiver stopped: while both versions are written, and right after the truncate. */
t.test('a shorter version arrives truncated on a peer that was stopped around it', async (t) => {
  const cluster = await startProxiedCluster(t, ['a', 'b'], [['b', 'a']], ['--history-keep', '1000000']);
  const [a, b] = [cluster.get('a'), cluster.get('b')];
  for (const [i, when] of ['stopped during both writes', 'stopped right after the truncate'].entries()) {
    const long = await patternBytes(417_441, `truncate-long-${i}`);
    const short = long.subarray(0, 393_261);
    const p = `g${i}.bin`;
    if (i === 0) await cluster.stop('b');
    await put(davUrl(a.marble.webdav, p), long);
    await put(davUrl(a.marble.webdav, p), short);
    if (i === 1) await cluster.stop('b');
    await cluster.start('b');
    await waitQuiescent(cluster, []);
    const r = await request(davUrl(b.marble.webdav, p), { maxBody: 0 });
    t.equal(`${r.status} ${r.bodyBytes} ${r.sha256}`, `200 ${short.length} ${sha256(short)}`, `b (${when}) reads the truncated version exactly`);
  }
});
