import { Counter, Gauge, type Registry } from 'prom-client';
import type { Store } from '../core/store.js';

/** Size of the store, splits, and changes committed here (local) or received (remote). */
export function registerStoreMetrics(registry: Registry, store: Store): void {
  const registers = [registry];
  new Gauge({
    name: 'marble_store_blobs',
    help: 'Content blobs stored (one per kept version of a file)',
    registers,
    collect() {
      this.set(store.stats().blobs);
    },
  });
  new Gauge({
    name: 'marble_store_blob_bytes',
    help: 'Bytes of content stored',
    registers,
    collect() {
      this.set(store.stats().blobBytes);
    },
  });
  new Gauge({
    name: 'marble_store_changes',
    help: 'Changes in the store (all instances, all time)',
    registers,
    collect() {
      this.set(store.stats().changes);
    },
  });
  new Gauge({
    name: 'marble_store_splits',
    help: 'Files and folders with concurrent versions (shown under /.splits)',
    registers,
    collect() {
      this.set(store.splitNodeIds().size);
    },
  });

  const committed = new Counter({
    name: 'marble_store_changes_committed_total',
    help: 'Changes committed since start, by origin: local (made here) or remote (received from a peer)',
    labelNames: ['origin'] as const,
    registers,
  });
  committed.inc({ origin: 'local' }, 0);
  committed.inc({ origin: 'remote' }, 0);
  // Every commit (local, received, or content arriving) calls the listener; local ones
  // hand over their heads. New sequence numbers minus the local heads are remote changes.
  let seen = store.lastSeq();
  store.onCommit((heads) => {
    const now = store.lastSeq();
    const added = now - seen;
    seen = now;
    if (heads.length) committed.inc({ origin: 'local' }, heads.length);
    if (added > heads.length) committed.inc({ origin: 'remote' }, added - heads.length);
  });
}
