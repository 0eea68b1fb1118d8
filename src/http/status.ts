import type { Store } from '../core/store.js';
import { fingerprintOf } from '../core/keys.js';
import type { MarbleView } from '../fs/view.js';
import type { PeerStatus, Replicator } from '../replication/replicator.js';

/** A connected peer (what the replicator reports) with its state. */
export interface PeerReport extends PeerStatus {
  readonly state: 'connected';
}

/** A trusted instance this one has heard of but has no session with now. */
export interface OfflinePeer {
  readonly id: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly state: 'offline';
}

export interface RecentChange {
  readonly id: string;
  /** Current path of the node (under /.history when it was deleted since), or null if unknown. */
  readonly path: string | null;
  readonly kind: string;
  readonly instance: string;
  /** ISO 8601, from the change's hybrid logical clock. */
  readonly time: string;
  readonly size: number;
  readonly isDir: boolean;
}

/** How far the current sync has come: counts since the instance last had nothing to fetch. */
export interface SyncReport {
  readonly active: boolean;
  readonly filesLeft: number;
  readonly bytesLeft: number;
  readonly filesTotal: number;
  readonly bytesTotal: number;
  /** 0..1 (1 when idle). */
  readonly done: number;
}

export interface StatusReport {
  readonly id: string;
  readonly name: string;
  readonly dataDir: string;
  readonly blobs: number;
  readonly blobBytes: number;
  readonly changes: number;
  /** Files and folders with concurrent versions. */
  readonly splits: number;
  readonly historyKeep: number;
  readonly fingerprint: string;
  /** Peers with an authenticated session now. */
  readonly peers: PeerReport[];
  readonly offlinePeers: OfflinePeer[];
  /** Changes whose content has not arrived yet. */
  readonly missing: number;
  readonly queuedDownloads: number;
  /** Bytes of the versions whose content has not arrived (at most: unchanged blocks are not fetched). */
  readonly bytesToFetch: number;
  readonly sync: SyncReport;
  readonly recent: RecentChange[];
  /** Base URL of the WebDAV front end, when known. */
  readonly webdav: string | null;
}

export interface StatusSources {
  readonly store: Store;
  readonly replicator?: Replicator;
  readonly view?: MarbleView;
  readonly webdavUrl?: string;
  readonly progress?: SyncProgress;
}

const RECENT = 20;

/**
 * Remembers the largest backlog seen since the instance last had nothing to fetch, so a
 * progress bar has a total: done = 1 - left / largest.
 */
export class SyncProgress {
  private files = 0;
  private bytes = 0;

  observe(filesLeft: number, bytesLeft: number): SyncReport {
    if (filesLeft === 0) this.files = this.bytes = 0;
    else {
      this.files = Math.max(this.files, filesLeft);
      this.bytes = Math.max(this.bytes, bytesLeft);
    }
    const active = filesLeft > 0;
    const done = !active ? 1 : this.bytes > 0 ? 1 - bytesLeft / this.bytes : 1 - filesLeft / this.files;
    return { active, filesLeft, bytesLeft, filesTotal: this.files, bytesTotal: this.bytes, done: Math.max(0, Math.min(1, done)) };
  }
}

export function statusOf(src: StatusSources): StatusReport {
  const { store, replicator } = src;
  const stats = store.stats();
  const missing = store.missingList();
  let bytesToFetch = 0;
  for (const m of missing) bytesToFetch += store.change(m.changeId)?.meta.size ?? 0;
  const peers = (replicator?.peers() ?? []).map((p) => ({ ...p, state: 'connected' as const }));
  return {
    id: store.instanceId,
    name: store.instanceName,
    fingerprint: store.key.fingerprint,
    dataDir: store.dataDir,
    ...stats,
    splits: store.splitNodeIds().size,
    historyKeep: store.historyRetention,
    peers,
    offlinePeers: replicator ? offlinePeers(store, replicator, new Set(peers.map((p) => p.id))) : [],
    missing: missing.length,
    queuedDownloads: replicator?.fetcher.stats().queued ?? 0,
    bytesToFetch,
    sync: (src.progress ?? new SyncProgress()).observe(missing.length, bytesToFetch),
    recent: recentChanges(src),
    webdav: src.webdavUrl ?? null,
  };
}

function offlinePeers(store: Store, replicator: Replicator, connected: ReadonlySet<string>): OfflinePeer[] {
  const out: OfflinePeer[] = [];
  for (const i of store.instances()) {
    if (i.id === store.instanceId || connected.has(i.id) || !i.publicKey) continue;
    const fingerprint = fingerprintOf(Buffer.from(i.publicKey, 'base64'));
    if (replicator.isTrusted(fingerprint)) out.push({ id: i.id, name: i.name, fingerprint, state: 'offline' });
  }
  return out;
}

/** The last changes that reached this store (made here or received), newest first. */
export function recentChanges(src: StatusSources, limit = RECENT): RecentChange[] {
  const { store, view } = src;
  const rows = store.changesAfter(Math.max(0, store.lastSeq() - limit), limit);
  return rows.reverse().map(({ change: c }) => {
    const parts = view?.tree.segmentsOf(c.nodeId, 'history');
    return {
      id: c.id,
      path: parts ? '/' + parts.join('/') : null,
      kind: c.kind,
      instance: store.instanceNameOf(c.origin),
      time: new Date(c.hlc).toISOString(),
      size: c.meta.size,
      isDir: c.meta.isDir,
    };
  });
}
