import t, { type Test } from 'tap';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BLOCK_SIZE } from '../../../src/core/blocks.js';
import type { Store } from '../../../src/core/store.js';
import { Fetcher, type ContentSource } from '../../../src/replication/fetcher.js';
import type { ProtocolError } from '../../../src/replication/wire.js';
import { chunks, makeView, readAll } from '../fs/view-fixture.js';

const quiet = { warn: () => undefined, debug: () => undefined };

/** Hands B every change A has, leaving content missing (what a session does before the fetcher). */
function receiveAll(to: Store, from: Store, fetcher?: Fetcher): void {
  for (const { change } of from.changesAfter(0, 1e6)) {
    if (to.hasChange(change.id)) continue;
    for (const m of to.receive(change)) fetcher?.enqueue(m.changeId);
  }
}

/** A peer serving blocks from a store, counting what it is asked for. */
function sourceOf(from: Store, opts: { lie?: boolean; dropAfter?: number } = {}) {
  const asked: number[] = [];
  const failures: ProtocolError[] = [];
  const source: ContentSource = {
    peerId: 'peer',
    knows: (id) => from.hasChange(id),
    async requestBlocks(changeId, blocks, onBlock) {
      const data = from.contentSource(changeId);
      if (!data) return 'nothave';
      const whole = from.blobs.readAll(data.id);
      for (const b of blocks) {
        if (opts.dropAfter !== undefined && asked.length >= opts.dropAfter) throw new Error('peer disconnected');
        asked.push(b);
        const bytes = Buffer.from(whole.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE));
        if (opts.lie) bytes[0] ^= 1;
        await onBlock(b, bytes);
      }
      return 'done';
    },
    fail: (e) => void failures.push(e),
  };
  return { source, asked, failures };
}

async function settled(store: Store): Promise<void> {
  for (let i = 0; i < 500 && store.missingList().length; i++) await new Promise((r) => setTimeout(r, 10));
}

/** Fetches into `to` from a peer that drops after `blocks` blocks, then stops (as at a crash). */
async function fetchUntilDropped(to: Store, from: Store, blocks: number): Promise<void> {
  const flaky = sourceOf(from, { dropAfter: blocks });
  const fetcher = new Fetcher(to, quiet, () => undefined);
  fetcher.addSource(flaky.source);
  for (let i = 0; i < 200 && flaky.asked.length < blocks; i++) await new Promise((r) => setTimeout(r, 10));
  fetcher.close();
  await new Promise((r) => setTimeout(r, 50));
}

/** Fetches everything missing in `to` from a steady peer; returns that peer (what it was asked). */
async function fetchAll(t: Test, to: Store, from: Store): Promise<ReturnType<typeof sourceOf>> {
  const steady = sourceOf(from);
  const fetcher = new Fetcher(to, quiet, () => undefined);
  t.teardown(() => fetcher.close());
  fetcher.addSource(steady.source);
  await settled(to);
  return steady;
}

t.test('fetches only what is missing, copies what it has, refuses lies, resumes', async (t) => {
  const a = makeView(t, { name: 'a' });
  const b = makeView(t, { name: 'b' });
  const content = randomBytes(BLOCK_SIZE * 8 + 123);
  await a.view.writeFile('/f.bin', chunks(content));
  receiveAll(b.store, a.store);

  // a lying peer is dropped with the bad-hash code; an honest one then serves
  const liar = sourceOf(a.store, { lie: true });
  const honest = sourceOf(a.store);
  const fetcher = new Fetcher(b.store, quiet, () => undefined);
  t.teardown(() => fetcher.close());
  fetcher.addSource(liar.source);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(liar.failures[0]?.code, 4406, 'the liar is dropped as MARBLE_BAD_HASH');
  fetcher.removeSource(liar.source);
  fetcher.addSource(honest.source);
  await settled(b.store);
  t.same(await readAll(await b.view.openRead('/f.bin')), content, 'content identical');

  // a 1-byte edit fetches one block
  const edited = Buffer.from(content);
  edited[BLOCK_SIZE * 5 + 7] ^= 0xff;
  await a.view.writeFile('/f.bin', chunks(edited));
  honest.asked.length = 0;
  receiveAll(b.store, a.store, fetcher);
  await settled(b.store);
  t.same(honest.asked, [5], 'only the changed block travels');
  t.same(await readAll(await b.view.openRead('/f.bin')), edited);

  // a copy is built from blocks b already holds
  honest.asked.length = 0;
  await a.view.copy('/f.bin', '/copy.bin');
  receiveAll(b.store, a.store, fetcher);
  await settled(b.store);
  t.same(honest.asked, [], 'no block fetched for content held locally');
  t.ok(fetcher.stats().blocksCopied >= 9);
  t.same(await readAll(await b.view.openRead('/copy.bin')), edited);
});

t.test('a download interrupted halfway resumes where it stopped', async (t) => {
  const a = makeView(t, { name: 'a' });
  const b = makeView(t, { name: 'b' });
  const content = randomBytes(BLOCK_SIZE * 40);
  await a.view.writeFile('/big.bin', chunks(content));
  receiveAll(b.store, a.store);
  await fetchUntilDropped(b.store, a.store, 20);
  const b2 = b.reopen(); // a restart
  const steady = await fetchAll(t, b2.store, a.store);
  t.ok(steady.asked.length <= 20 + 4, `after the restart only the rest is fetched (${steady.asked.length} of 40 blocks)`);
  t.same(await readAll(await b2.view.openRead('/big.bin')), content);
});

/**
 * Seen in a convergence soak (MARBLE_SEED=7007, 1000 steps): a kill -9 after the assembled
 * content was moved into its blob but before the change was recorded left a workspace without
 * content, and every retry failed on it (ENOENT) for ever. Such a workspace starts over.
 */
t.test('a workspace whose content is gone starts over instead of failing for ever', async (t) => {
  const a = makeView(t, { name: 'a' });
  const b = makeView(t, { name: 'b' });
  const content = randomBytes(BLOCK_SIZE * 12);
  await a.view.writeFile('/big.bin', chunks(content));
  receiveAll(b.store, a.store);
  const [missing] = b.store.missingList();
  await fetchUntilDropped(b.store, a.store, 6);
  rmSync(join(b.store.blobs.downloadDir, encodeURIComponent(missing!.changeId), 'content'));
  const b2 = b.reopen();
  await fetchAll(t, b2.store, a.store);
  t.same(b2.store.missingList(), [], 'nothing left missing');
  t.same(await readAll(await b2.view.openRead('/big.bin')), content);
});

t.test('a version superseded before it arrived is still fetched for history', async (t) => {
  const a = makeView(t, { name: 'a' });
  const b = makeView(t, { name: 'b' });
  const v1 = randomBytes(BLOCK_SIZE * 2);
  const v2 = randomBytes(BLOCK_SIZE * 2);
  await a.view.writeFile('/doc.bin', chunks(v1));
  await a.view.writeFile('/doc.bin', chunks(v2));
  const fetcher = new Fetcher(b.store, quiet, () => undefined);
  t.teardown(() => fetcher.close());
  receiveAll(b.store, a.store, fetcher);
  fetcher.addSource(sourceOf(a.store).source);
  await settled(b.store);
  t.same(await readAll(await b.view.openRead('/doc.bin')), v2);
  const versions = (await b.view.list('/.history/doc.bin')).entries;
  t.equal(versions.length, 2);
  t.same(await readAll(await b.view.openRead(`/.history/doc.bin/${versions[0]!.name}`)), v1, 'the superseded version is kept too');
});

t.test('a file listed before its content arrives keeps its ETag tag when the content lands', async (t) => {
  const a = makeView(t, { name: 'a' });
  const b = makeView(t, { name: 'b' });
  await a.view.writeFile('/one.bin', chunks(randomBytes(BLOCK_SIZE * 2)));
  await a.view.writeFile('/two.bin', chunks(randomBytes(BLOCK_SIZE * 2)));
  receiveAll(b.store, a.store);
  const pendingOne = (await b.view.stat('/one.bin')).contentTag;
  const pendingTwo = (await b.view.stat('/two.bin')).contentTag;
  t.not(pendingOne, pendingTwo, 'two files on their way have different tags');
  await fetchAll(t, b.store, a.store);
  t.equal((await b.view.stat('/one.bin')).contentTag, pendingOne, 'same content, same tag: clients do not fetch it again');
  t.equal((await b.view.stat('/one.bin')).contentTag, (await a.view.stat('/one.bin')).contentTag, 'the same tag on both instances');
  const before = (await b.view.stat('/two.bin')).contentTag;
  t.equal((await b.view.setMeta('/two.bin', { mode: 0o600 })).contentTag, before, 'a metadata-only change keeps the tag');
});

t.test('a read of a file still arriving waits while its blocks keep coming, and fails once they stop', async (t) => {
  const a = makeView(t, { name: 'a' });
  let fetcher: Fetcher | undefined;
  const b = makeView(t, { name: 'b', contentWaitMs: 300, lastArrival: (id) => fetcher?.lastArrival(id) });
  const content = randomBytes(BLOCK_SIZE * 10);
  await a.view.writeFile('/slow.bin', chunks(content));
  await a.view.writeFile('/stuck.bin', chunks(randomBytes(BLOCK_SIZE)));
  receiveAll(b.store, a.store);
  const slow = sourceOf(a.store);
  const serveSlowly: ContentSource = {
    ...slow.source,
    async requestBlocks(changeId, blocks, onBlock) {
      const isSlow = changeId === b.store.headsOf((await b.view.stat('/slow.bin')).key)[0]?.contentChange;
      if (!isSlow) return new Promise(() => undefined); // never answers
      return slow.source.requestBlocks(changeId, blocks, async (index, data) => {
        await new Promise((r) => setTimeout(r, 100)); // 10 blocks: 1 s, far past the 300 ms wait
        await onBlock(index, data);
      });
    },
  };
  fetcher = new Fetcher(b.store, quiet, () => undefined);
  t.teardown(() => fetcher?.close());
  fetcher.addSource(serveSlowly);
  const started = Date.now();
  t.same(await readAll(await b.view.openRead('/slow.bin')), content, 'the read waited for all of it');
  t.ok(Date.now() - started >= 600, 'longer than the wait for a stalled download');
  await t.rejects(b.view.openRead('/stuck.bin'), { code: 'MARBLE_CONTENT_UNAVAILABLE' }, 'nothing arriving: retry later');
});
