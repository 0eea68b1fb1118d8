import t from 'tap';
import { isFsError } from '../../../src/fs/errors.js';
import { Rng } from '../../helpers/rng.js';
import { chunks, makeView, readAll, type Fixture } from '../fs/view-fixture.js';
import { pull, syncAll } from './sync-fixture.js';

// Random writes, hard links, symbolic links, renames and removals on three instances that
// sync at random moments: once all have exchanged everything they hold the same heads, and
// every name each one shows opens, with the same link count everywhere for one file.

const SEED = Number(process.env.MARBLE_SEED ?? 4242);
const STEPS = 300;
const NAMES = ['/a', '/b', '/c', '/d/a', '/d/b', '/d/c'];

const heads = (fx: Fixture) =>
  JSON.stringify(
    [...new Set(fx.store.changesAfter(0, 1e6).map(({ change }) => change.nodeId))]
      .flatMap((n) => fx.store.headsOf(n))
      .map((h) => [h.nodeId, h.changeId, h.name, h.parentDir, h.deleted, h.linkTo, h.symlink, h.contentChange])
      .sort(),
  );

/** One random operation; refusals the tree owes the caller (taken name, gone file...) are expected. */
async function step(rng: Rng, fx: Fixture, n: number): Promise<void> {
  const [x, y] = [rng.pick(NAMES), rng.pick(NAMES)];
  const op = rng.weighted({ write: 4, link: 3, symlink: 1, rename: 2, remove: 2 });
  try {
    if (op === 'write') await fx.view.writeFile(x, chunks(`${fx.store.instanceName} step ${n}`));
    else if (op === 'link') await fx.view.link(x, y);
    else if (op === 'symlink') await fx.view.symlink(y, Buffer.from(x));
    else if (op === 'rename') await fx.view.rename(x, y, { overwrite: rng.chance(0.5) });
    else await fx.view.remove(x);
  } catch (e) {
    if (!isFsError(e)) throw e;
  }
}

t.test(`random link operations on three instances converge (MARBLE_SEED=${SEED})`, async (t) => {
  const rng = new Rng(SEED);
  // Every version kept, as the engine-level pull fetches old content only from the one store it pulls from.
  const fx = ['a', 'b', 'c'].map((name) => makeView(t, { name, historyKeep: 1_000_000 }));
  for (const f of fx) await f.view.mkdir('/d');
  syncAll(...fx);
  for (let n = 0; n < STEPS; n++) {
    await step(rng, rng.pick(fx), n);
    if (rng.chance(0.2)) {
      const [to, from] = [rng.pick(fx), rng.pick(fx)];
      if (to !== from) pull(to.store, from.store);
    }
  }
  syncAll(...fx);
  const [a, ...rest] = fx;
  for (const f of rest) t.equal(heads(f), heads(a!), `${f.store.instanceName} holds the same heads as a`);

  const nlinkOf = new Map<string, number>();
  for (const f of fx) {
    let problems = 0;
    for (const dir of ['/', '/d']) {
      for (const e of (await f.view.list(dir)).entries) {
        if (e.name.startsWith('.') || e.isDir) continue;
        const path = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
        const opened = await readAll(await f.view.openRead(path)).then(
          (b) => b.length === e.size,
          () => false,
        );
        if (!opened || e.nlink < 1) problems++;
        if ((nlinkOf.get(e.key) ?? e.nlink) !== e.nlink) problems++;
        nlinkOf.set(e.key, e.nlink);
      }
    }
    t.equal(problems, 0, `${f.store.instanceName}: every name opens whole, one link count per file everywhere`);
  }
});
