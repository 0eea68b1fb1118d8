import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Store } from '../core/store.js';
import type { Replicator } from '../replication/replicator.js';
import { registerReplicationMetrics } from './replication.js';
import { registerRequestMetrics, type RequestHooks } from './requests.js';
import { registerStoreMetrics } from './store.js';

export type { RequestHooks } from './requests.js';

export interface Metrics extends RequestHooks {
  /** What GET /metrics serves (Prometheus text format). */
  readonly registry: Registry;
}

/**
 * One registry per instance (tests run several in one process): the process defaults
 * (marble_process_*, marble_nodejs_* are not renamed: Grafana's usual panels expect
 * process_* and nodejs_*), the store, replication, and the WebDAV/NFS request hooks.
 */
export function createMetrics(opts: { store: Store; replicator?: Replicator }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerStoreMetrics(registry, opts.store);
  if (opts.replicator) registerReplicationMetrics(registry, opts.store, opts.replicator);
  return { registry, ...registerRequestMetrics(registry) };
}
