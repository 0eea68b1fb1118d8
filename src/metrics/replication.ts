import { Counter, Gauge, type Registry } from 'prom-client';
import type { Store } from '../core/store.js';
import type { Replicator } from '../replication/replicator.js';
import { servedTotals } from '../replication/session.js';

/** Peers whose lag is reported by name; more would make the label unbounded. */
const MAX_PEER_LABELS = 64;

/** The download queue, missing content, block traffic, and peers (DESIGN §6). */
export function registerReplicationMetrics(registry: Registry, store: Store, replicator: Replicator): void {
  const registers = [registry];
  const fetcher = () => replicator.fetcher.stats();
  new Gauge({
    name: 'marble_replication_download_queue',
    help: 'Changes whose content is queued or being downloaded',
    registers,
    collect() {
      this.set(fetcher().queued);
    },
  });
  new Gauge({
    name: 'marble_replication_downloads_active',
    help: 'Downloads in progress',
    registers,
    collect() {
      this.set(fetcher().active);
    },
  });
  new Gauge({
    name: 'marble_replication_download_bytes_remaining',
    help: 'Bytes the downloads in progress still need',
    registers,
    collect() {
      this.set(fetcher().bytesToFetch);
    },
  });
  new Gauge({
    name: 'marble_replication_missing_changes',
    help: 'Changes received whose content has not arrived yet',
    registers,
    collect() {
      this.set(store.missingList().length);
    },
  });
  // The fetcher and sessions keep plain tallies; counters mirror them at scrape time.
  const mirror = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  mirror('marble_replication_blocks_received_total', 'Content blocks (128 KiB) received from peers and verified', () => fetcher().blocksReceived);
  mirror('marble_replication_bytes_received_total', 'Content bytes received from peers and verified', () => fetcher().bytesReceived);
  mirror('marble_replication_blocks_refetched_total', 'Blocks received again although already held (retries after a dropped connection)', () => fetcher().blocksRefetched);
  mirror('marble_replication_blocks_sent_total', 'Content blocks served to peers', () => servedTotals(store).blocks);
  mirror('marble_replication_bytes_sent_total', 'Content bytes served to peers', () => servedTotals(store).bytes);
  new Gauge({
    name: 'marble_replication_peers_connected',
    help: 'Peers with an authenticated session',
    registers,
    collect() {
      this.set(replicator.peers().length);
    },
  });
  new Gauge({
    name: 'marble_replication_peer_lag_changes',
    help: 'Changes this instance holds that the peer has not acknowledged, per connected peer (by instance name)',
    labelNames: ['peer'] as const,
    registers,
    collect() {
      this.reset(); // peers that left drop out
      for (const p of replicator.peers().slice(0, MAX_PEER_LABELS)) this.set({ peer: p.name.slice(0, 64) }, p.lag);
    },
  });
}
