import { isResidentSize } from '../../../src/core/blobs.js';
import type { Store } from '../../../src/core/store.js';
import { fromWire, toWire } from '../../../src/replication/wire.js';
import { chunks, makeView, type Fixture } from '../fs/view-fixture.js';

/**
 * Engine-level replication: changes move between real stores the way sessions move them
 * (arrival order, through the wire codec, content fetched from a store that has it), without sockets.
 */
export function pull(to: Store, from: Store): void {
  for (const i of from.instances()) to.noteInstance(i.id, i.name, i.publicKey);
  for (const { change } of from.changesAfter(0, 1_000_000)) {
    if (to.hasChange(change.id)) continue;
    for (const m of to.receive(fromWire(JSON.parse(JSON.stringify(toWire(change)))).change)) {
      const plan = to.contentPlan(m.changeId)!;
      const source = from.contentSource(m.changeId)!;
      const dataId = to.allocateDataId();
      const content = from.blobs.readAll(source.id);
      if (!isResidentSize(content.length)) to.blobs.writeSmall(dataId, [content]);
      to.materialize(m.changeId, dataId, plan.size, plan.hashes, isResidentSize(content.length) ? content : undefined);
    }
  }
}

export function syncAll(...fx: Fixture[]): void {
  for (let round = 0; round < 2; round++) for (const a of fx) for (const b of fx) if (a !== b) pull(a.store, b.store);
}


/** Two instances a and c that edited /doc.txt concurrently ("from a", "from c"), fully synced: a split. */
export async function splitPair(t: { teardown(fn: () => void): void }): Promise<{ a: Fixture; c: Fixture }> {
  const a = makeView(t, { name: 'a' });
  const c = makeView(t, { name: 'c' });
  await a.view.writeFile('/doc.txt', chunks('base'));
  syncAll(a, c);
  await a.view.writeFile('/doc.txt', chunks('from a'));
  await c.view.writeFile('/doc.txt', chunks('from c'));
  syncAll(a, c);
  return { a, c };
}
