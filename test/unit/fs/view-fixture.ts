import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../../src/core/store.js';
import { MarbleView, type ViewOptions } from '../../../src/fs/view.js';
import type { ReadHandle } from '../../../src/fs/types.js';

export interface Fixture {
  dir: string;
  store: Store;
  view: MarbleView;
  reopen(): Fixture;
}

/** A real store in a temp directory, removed at teardown. */
export function makeView(t: { teardown(fn: () => void): void }, opts: { historyKeep?: number; idleCommitMs?: number; name?: string } & Pick<ViewOptions, 'contentWaitMs' | 'lastArrival'> = {}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'marble-view-'));
  let current: Fixture | null = null;
  const open = (): Fixture => {
    const store = Store.open(dir, { name: opts.name ?? 'unit' });
    if (opts.historyKeep !== undefined) store.setConfig('history_keep', String(opts.historyKeep));
    const view = new MarbleView(store, { idleCommitMs: opts.idleCommitMs ?? 50, contentWaitMs: opts.contentWaitMs, lastArrival: opts.lastArrival });
    current = { dir, store, view, reopen: () => (store.close(), open()) };
    return current;
  };
  t.teardown(() => {
    try {
      current?.store.close();
    } catch {
      // already closed
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return open();
}

export async function* chunks(...parts: Array<Buffer | string>): AsyncIterable<Buffer> {
  for (const p of parts) yield Buffer.isBuffer(p) ? p : Buffer.from(p);
}

export async function readAll(h: ReadHandle): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of h.stream()) out.push(c as Buffer);
  await h.close();
  return Buffer.concat(out);
}
