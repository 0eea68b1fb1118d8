import { closeSync, fdatasync, mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BlobStore } from './blobs.js';
import { blockCount, blocksToRanges, HASH_SIZE, hashOf, packBlockHashes } from './blocks.js';
import { noteActivity } from './buffer-gc.js';
import { openDatabase, type Db } from './db.js';
import { lockDataDir } from './dir-lock.js';
import { makeId, ROOT_NODE } from './ids.js';
import { currentPlace, newInstanceId, readMarker, samePlace, writeMarker } from './identity.js';
import { loadOrCreateKey, type InstanceKey } from './keys.js';
import {
  NS_PER_S,
  type Change,
  type DataRow,
  type Head,
  type LocalChange,
  type Missing,
  type NodeMeta,
  type RetainedVersion,
} from './model.js';

export interface StoreOptions {
  /** Name for a new instance (default: the host name). Ignored for an existing one. */
  readonly name?: string;
  /** Called once when the data directory was found copied or moved and took a new id. */
  readonly onNewIdentity?: (oldId: string, newId: string) => void;
}

export interface StoreStats {
  readonly blobs: number;
  readonly blobBytes: number;
  readonly changes: number;
}

type Row = Record<string, unknown>;

const DEFAULT_HISTORY_KEEP = 10;
const DATA_ID_BLOCK = 256;

/**
 * The store: SQLite state and content blobs of one instance (DESIGN §2–3). Every mutation
 * is one transaction; blobs are durable before the transaction that references them
 * commits, and a blob is deleted only after no head, missing, retained version or reader
 * uses it. Single writer: all methods are synchronous over one connection.
 */
export class Store {
  readonly blobs: BlobStore;
  private readonly db: Db;
  private readonly stmts: ReturnType<typeof prepare>;
  private lastHlc = 0;
  private historyKeep: number;
  private readonly holds = new Map<number, number>();
  /** Data ids whose rows are gone but a reader still holds the blob. */
  private readonly unlinkWhenReleased = new Set<number>();
  private listeners: Array<(heads: readonly Head[]) => void> = [];
  /** Nodes with more than one head (a split); empty on a lone instance. */
  private readonly splitNodes = new Set<string>();
  /** Files some live hard link names: only these need their links looked up. */
  private readonly linkTargets = new Set<string>();
  /** Blobs freed inside an open atomically(); unlinked only once it commits. */
  private pendingFree: number[] | null = null;
  /** The write-ahead log's descriptor, opened by the first syncCommitted. */
  private logFd: number | undefined;
  /** Blobs (id -> size) whose content left the live tree inside an open atomically(); see BlobStore.dropCached. */
  private readonly retired = new Map<number, number>();
  private dataIds = { next: 0, end: 0 };
  private createdMissing: Missing[] | null = null;
  instanceId = '';
  instanceName = '';
  readonly key: InstanceKey;

  private constructor(readonly dataDir: string, opts: StoreOptions, private readonly unlock: () => void) {
    this.db = openDatabase(join(dataDir, 'marble.db'));
    this.stmts = prepare(this.db);
    this.blobs = new BlobStore(dataDir, (id) => (this.stmts.residentContent.get(id) as { content: Buffer | null } | undefined)?.content ?? undefined);
    this.key = loadOrCreateKey(dataDir);
    this.establishIdentity(opts);
    // The clock never runs behind any change this instance holds; no need to store it.
    this.lastHlc = (this.db.prepare('SELECT coalesce(max(hlc), 0) AS hlc FROM changes').get() as { hlc: number }).hlc;
    this.historyKeep = Number(this.getConfig('history_keep') ?? DEFAULT_HISTORY_KEEP);
    for (const r of this.stmts.splitNodes.all() as Array<{ node_id: string }>) this.splitNodes.add(r.node_id);
    for (const r of this.stmts.linkTargets.all() as Array<{ link_to: string }>) this.linkTargets.add(r.link_to);
  }

  /** Opens the instance in `dataDir` for this process alone (throws DirLocked if another serves it). */
  static open(dataDir: string, opts: StoreOptions = {}): Store {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const unlock = lockDataDir(dataDir);
    try {
      const store = new Store(dataDir, opts, unlock);
      store.removeLeftovers();
      return store;
    } catch (e) {
      unlock();
      throw e;
    }
  }

  close(): void {
    if (this.logFd !== undefined) closeSync(this.logFd);
    this.logFd = undefined;
    this.db.close();
    this.unlock();
  }

  // ---- identity ---------------------------------------------------------------------

  private establishIdentity(opts: StoreOptions): void {
    const place = currentPlace(this.dataDir);
    const existing = this.getConfig('instance_id');
    if (!existing) {
      const id = newInstanceId();
      this.adoptIdentity(id, opts.name ?? hostname());
    } else {
      const marker = readMarker(this.dataDir);
      const name = this.getConfig('instance_name') ?? hostname();
      if (marker && marker.instanceId === existing && samePlace(marker, place)) {
        this.instanceId = existing;
        this.instanceName = name;
      } else {
        const id = newInstanceId();
        this.adoptIdentity(id, `${name.replace(/-[0-9a-f]{4}$/, '')}-${id.slice(0, 4)}`);
        opts.onNewIdentity?.(existing, id);
      }
    }
    writeMarker(this.dataDir, { instanceId: this.instanceId, name: this.instanceName, ...place });
  }

  /** A new instance id: change and node counters restart, so each origin's changes stay a gap-free prefix. */
  private adoptIdentity(id: string, name: string): void {
    const now = Date.now();
    this.db.transaction(() => {
      this.setConfig('instance_id', id);
      this.setConfig('instance_name', name);
      this.stmts.upsertCounter.run('node', 0);
      this.stmts.upsertCounter.run('change', 0);
      this.stmts.upsertInstance.run(id, name, now, now, this.key.publicKey.toString('base64'));
    })();
    this.instanceId = id;
    this.instanceName = name;
  }

  instanceNameOf(id: string): string {
    return (this.stmts.instanceName.get(id) as { name: string } | undefined)?.name ?? id.slice(0, 8);
  }

  // ---- config -------------------------------------------------------------------------

  getConfig(key: string): string | undefined {
    return (this.stmts.getConfig.get(key) as { value: string } | undefined)?.value;
  }

  setConfig(key: string, value: string): void {
    this.stmts.setConfig.run(key, value);
    if (key === 'history_keep') this.historyKeep = Number(value);
  }

  get historyRetention(): number {
    return this.historyKeep;
  }

  // ---- reads --------------------------------------------------------------------------

  headsOf(nodeId: string): Head[] {
    return (this.stmts.headsOf.all(nodeId) as Row[]).map(toHead);
  }

  headsNamed(parentDir: string, name: string): Head[] {
    return (this.stmts.headsNamed.all(parentDir, name) as Row[]).map(toHead);
  }

  /** Live heads in a folder, ordered by name, starting after `afterName`. */
  headsInDir(parentDir: string, afterName: string, limit: number): Head[] {
    return (this.stmts.headsInDir.all(parentDir, afterName, limit) as Row[]).map(toHead);
  }

  /** Heads in a folder including tombstones (for history), ordered by name. */
  allHeadsInDir(parentDir: string, afterName: string, limit: number): Head[] {
    return (this.stmts.allHeadsInDir.all(parentDir, afterName, limit) as Row[]).map(toHead);
  }

  /**
   * Live heads of the hard links naming file `nodeId` (several per link node while it is
   * split), oldest link first: the order every instance agrees on.
   */
  linksTo(nodeId: string): Head[] {
    if (!this.linkTargets.has(nodeId)) return [];
    return (this.stmts.linksTo.all(nodeId) as Row[]).map(toHead);
  }

  /** How many link nodes name file `nodeId` (its link count is one more). */
  linkCount(nodeId: string): number {
    if (!this.linkTargets.has(nodeId)) return 0;
    return (this.stmts.linkCount.get(nodeId) as { n: number }).n;
  }

  isSplit(nodeId: string): boolean {
    return this.splitNodes.has(nodeId);
  }

  splitNodeIds(): ReadonlySet<string> {
    return this.splitNodes;
  }

  /** Origins of live heads whose name another live node takes in the same folder as the tree shows it (folders merged included). */
  collisionOrigins(): string[] {
    return (this.stmts.collisionOrigins.all() as Array<{ origin: string }>).map((r) => r.origin);
  }

  /** When the folder's children last changed here (ms), or 0. */
  dirTime(dirId: string): number {
    return (this.stmts.dirTime.get(dirId) as { hlc: number } | undefined)?.hlc ?? 0;
  }

  hasLiveChildren(dirId: string): boolean {
    return this.stmts.anyLiveChild.get(dirId) !== undefined;
  }

  /** Deleted folders directly in a folder. */
  deletedSubdirs(dirId: string): string[] {
    return (this.stmts.deletedSubdirs.all(dirId) as Array<{ node_id: string }>).map((r) => r.node_id);
  }

  change(id: string): Change | undefined {
    const row = this.stmts.change.get(id) as Row | undefined;
    return row && toChange(row);
  }

  /** Content changes (create, write) of a node, oldest first. */
  contentChangesOf(nodeId: string): Change[] {
    return (this.stmts.contentChanges.all(nodeId) as Row[]).map(toChange);
  }

  retainedOf(nodeId: string): RetainedVersion[] {
    return (this.stmts.retainedOf.all(nodeId) as Row[]).map((r) => ({
      nodeId: r.node_id as string,
      changeId: r.change_id as string,
      dataId: r.data_id as number,
      hlc: r.hlc as number,
    }));
  }

  data(id: number): DataRow | undefined {
    const r = this.stmts.data.get(id) as Row | undefined;
    return r && { id: r.id as number, changeId: r.change_id as string, refs: r.refs as number, size: r.size as number, hashes: r.hashes as Buffer };
  }

  stats(): StoreStats {
    const r = this.stmts.stats.get() as { blobs: number; bytes: number | null };
    const c = this.stmts.changeCount.get() as { n: number };
    return { blobs: r.blobs, blobBytes: r.bytes ?? 0, changes: c.n };
  }

  // ---- read holds ---------------------------------------------------------------------

  /** Pins a blob while a reader has it open. Call in the same tick as the lookup that found it. */
  hold(dataId: number): void {
    this.holds.set(dataId, (this.holds.get(dataId) ?? 0) + 1);
  }

  release(dataId: number): void {
    const n = (this.holds.get(dataId) ?? 0) - 1;
    if (n > 0) {
      this.holds.set(dataId, n);
      return;
    }
    this.holds.delete(dataId);
    if (this.unlinkWhenReleased.delete(dataId)) this.blobs.remove(dataId);
  }

  // ---- local changes ------------------------------------------------------------------

  /**
   * A data id for a blob about to be written. Ids are reserved from the counter in blocks,
   * committed before use, so one is never handed out twice, even after a crash.
   */
  allocateDataId(): number {
    if (this.dataIds.next >= this.dataIds.end) {
      const end = (this.stmts.reserveCounter.get(DATA_ID_BLOCK, 'data') as { value: number } | undefined)?.value;
      if (end === undefined) this.stmts.upsertCounter.run('data', DATA_ID_BLOCK);
      this.dataIds = { next: (end ?? DATA_ID_BLOCK) - DATA_ID_BLOCK + 1, end: (end ?? DATA_ID_BLOCK) + 1 };
    }
    return this.dataIds.next++;
  }

  newNodeId(): string {
    return makeId(this.instanceId, this.nextCounter('node'));
  }

  /**
   * Commits local modifications as changes, all in one transaction, and returns the new
   * heads in order. Blobs named by new content must already be durable.
   */
  commit(changes: readonly LocalChange[]): Head[] {
    const heads = this.atomically((freed) => changes.map((c) => this.commitOne(c, freed)));
    for (const l of this.listeners) l(heads);
    return heads;
  }

  /**
   * Runs `fn` as one transaction (a savepoint when nested). Blobs it frees are deleted
   * only after the outermost transaction commits, so a rollback never loses content.
   */
  atomically<T>(fn: (freed: number[]) => T): T {
    if (this.pendingFree) return this.db.transaction(() => fn(this.pendingFree!))();
    const freed: number[] = [];
    this.pendingFree = freed;
    try {
      const out = this.db.transaction(() => fn(freed))();
      this.unlinkFreed(freed);
      for (const id of freed) this.retired.delete(id);
      for (const [id, size] of this.retired) void this.blobs.dropCached(id, size);
      noteActivity();
      return out;
    } finally {
      this.pendingFree = null;
      this.retired.clear();
    }
  }

  /**
   * Makes every commit so far durable, as NFS COMMIT promises. Commits run with
   * synchronous=NORMAL: they survive a process crash, but after a power loss the newest may
   * roll back until the log is fsynced (a checkpoint syncs what it copies). So: fsync the log.
   */
  async syncCommitted(): Promise<void> {
    // Kept open: the log is the same file for as long as the database is (locking_mode
    // EXCLUSIVE, one connection), and an open and a close would each cost a thread-pool hop.
    if (this.logFd === undefined) {
      try {
        this.logFd = openSync(join(this.dataDir, 'marble.db-wal'), 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // no log: everything is in the database file
        throw e;
      }
    }
    const fd = this.logFd;
    await new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  }

  /** Calls `listener` after every commit; returns what stops that. */
  onCommit(listener: (heads: readonly Head[]) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Resolves after the next commit (local, received or materialized), or after `timeoutMs`. */
  nextCommit(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const listener = () => done();
      this.listeners.push(listener);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.listeners = self.listeners.filter((l) => l !== listener);
        resolve();
      }
    });
  }

  private commitOne(local: LocalChange, freed: number[]): Head {
    const counter = this.nextCounter('change');
    const hlc = this.nextHlc();
    const id = makeId(this.instanceId, counter);
    let nodeId: string;
    let parentId: string | null = null;
    let meta: NodeMeta;
    let touched: { blocks: readonly number[]; hashes: Buffer; size: number } | null = null;
    let content: HeadContent = NO_CONTENT;
    let merges: string[] = [];
    switch (local.kind) {
      case 'create': {
        nodeId = local.nodeId ?? this.newNodeId();
        meta = local.meta;
        const c = local.content;
        if (c && 'shareDataId' in c) {
          const data = this.data(c.shareDataId);
          if (!data) throw new Error(`data ${c.shareDataId} vanished before a copy committed`);
          touched = { blocks: [...Array(blockCount(data.size)).keys()], hashes: data.hashes, size: data.size };
          content = { dataId: data.id, contentChange: id, pending: false };
        } else if (c) {
          this.insertData(c.dataId, id, c.size, c.hashes, c.resident);
          touched = { blocks: c.touched, hashes: c.hashes, size: c.size };
          content = { dataId: c.dataId, contentChange: id, pending: false };
        }
        break;
      }
      case 'write':
        nodeId = local.head.nodeId;
        parentId = local.head.changeId;
        meta = local.meta;
        this.insertData(local.content.dataId, id, local.content.size, local.content.hashes, local.content.resident);
        touched = { blocks: local.content.touched, hashes: local.content.hashes, size: local.content.size };
        content = { dataId: local.content.dataId, contentChange: id, pending: false };
        break;
      case 'meta':
        nodeId = local.head.nodeId;
        parentId = local.head.changeId;
        meta = local.meta;
        content = headContentOf(local.head);
        merges = (local.merges ?? []).map((h) => h.changeId);
        break;
      case 'delete':
        nodeId = local.head.nodeId;
        parentId = local.head.changeId;
        meta = local.head;
        merges = (local.merges ?? []).map((h) => h.changeId);
        break;
    }
    const change: Change = {
      id, origin: this.instanceId, counter, nodeId, parentId, kind: local.kind, meta,
      ranges: touched ? blocksToRanges(touched.blocks, touched.size) : [],
      blockHashes: touched ? packBlockHashes(touched.blocks, touched.hashes) : null,
      hlc, merges,
    };
    this.insertChange(change);
    const head = this.applyChange(change, content, freed);
    if (content.contentChange === id && content.dataId !== null) this.retain(nodeId, id, content.dataId, hlc, freed);
    return head;
  }

  /**
   * Moves the node's head from the change's parent (and any heads it merges) to the change
   * (DESIGN §3 "define change"). A parent that is no longer a head means the change is
   * concurrent with another: the node now has several heads, a split.
   */
  private applyChange(c: Change, content: HeadContent, freed: number[]): Head {
    const s = this.stmts;
    const closes = c.parentId ? [c.parentId, ...c.merges] : [];
    let birthHlc = c.hlc;
    const linked = new Set<string>();
    if (c.meta.linkTo !== null) linked.add(c.meta.linkTo);
    for (const closed of closes) {
      const old = s.headByChange.get(c.nodeId, closed) as Row | undefined;
      if (!old) continue;
      if (old.link_to !== null) linked.add(old.link_to as string);
      if (closed === c.parentId) birthHlc = old.birth_hlc as number;
      s.deleteHead.run(c.nodeId, closed);
      if (old.data_id !== null) {
        this.unref(old.data_id as number, freed);
        if (old.data_id !== content.dataId) this.retired.set(old.data_id as number, old.size as number);
      }
      if (old.parent_dir !== c.meta.parentDir) s.touchDir.run(old.parent_dir, c.hlc);
      // A version superseded before its content arrived is still fetched for history (DESIGN:
      // every version written stays a head or in history), unless history keeps nothing.
      if (old.pending === 1 && old.content_change !== content.contentChange && this.historyKeep <= 0) {
        this.dropMissingIfUnused(old.content_change as string, freed);
      }
    }
    s.touchDir.run(c.meta.parentDir, c.hlc);
    const deleted = c.kind === 'delete';
    if (deleted) content = NO_CONTENT;
    const m = c.meta;
    const [sec, nsec] = splitNs(m.mtimeNs);
    s.insertHead.run(
      c.nodeId, c.id, c.origin, m.name, m.parentDir, m.isDir ? 1 : 0, deleted ? 1 : 0, content.dataId, m.mode, sec, nsec, m.size,
      c.hlc, birthHlc, content.contentChange, content.pending ? 1 : 0, m.linkTo, m.symlink ? 1 : 0,
    );
    if (content.dataId !== null) this.ref(content.dataId);
    if ((s.headCount.get(c.nodeId) as { n: number }).n > 1) this.splitNodes.add(c.nodeId);
    else this.splitNodes.delete(c.nodeId);
    for (const target of linked) {
      if ((s.linkCount.get(target) as { n: number }).n > 0) this.linkTargets.add(target);
      else this.linkTargets.delete(target);
    }
    return toHead(s.headByChange.get(c.nodeId, c.id) as Row);
  }

  private retain(nodeId: string, changeId: string, dataId: number, hlc: number, freed: number[]): void {
    if (this.historyKeep <= 0) return;
    this.stmts.insertRetained.run(nodeId, changeId, dataId, hlc);
    this.ref(dataId);
    for (const old of this.stmts.retainedBeyond.all(nodeId, this.historyKeep) as Row[]) {
      this.stmts.deleteRetained.run(nodeId, old.change_id);
      this.unref(old.data_id as number, freed);
    }
  }

  private insertChange(c: Change): void {
    const m = c.meta;
    const [sec, nsec] = splitNs(m.mtimeNs);
    this.stmts.insertChange.run(
      c.id, c.origin, c.counter, c.nodeId, c.parentId, c.kind, m.name, m.parentDir, m.isDir ? 1 : 0, m.mode, sec, nsec, m.size,
      c.ranges.length ? JSON.stringify(c.ranges.map((r) => [r.offset, r.length])) : null, c.blockHashes, c.hlc,
      this.nextCounter('seq'), c.merges.length ? JSON.stringify(c.merges) : null, m.linkTo, m.symlink ? 1 : 0,
    );
    this.stmts.setVector.run(c.origin, c.counter);
  }

  /** A data row; `resident` content lives in it (no blob file), see RESIDENT_MAX. */
  private insertData(id: number, changeId: string, size: number, hashes: Buffer, resident?: Buffer): void {
    this.stmts.insertData.run(id, changeId, size, hashes, resident ?? null);
    // Resident content is one short block that travels inline with its change: a fetch never
    // needs to find it locally, and leaving it out spares three index pages per small file.
    if (resident) return;
    for (let i = 0; i * HASH_SIZE < hashes.length; i++) this.stmts.indexBlock.run(hashOf(hashes, i), id, i);
  }

  /** A local blob holding a block with this hash, if any. */
  findBlock(hash: Buffer): { dataId: number; index: number } | undefined {
    const r = this.stmts.findBlock.get(hash) as { data_id: number; idx: number } | undefined;
    return r && { dataId: r.data_id, index: r.idx };
  }

  private ref(dataId: number): void {
    this.stmts.addRef.run(1, dataId);
  }

  private unref(dataId: number, freed: number[]): void {
    const r = this.stmts.addRef.get(-1, dataId) as { refs: number } | undefined;
    if (r && r.refs <= 0) {
      this.stmts.deleteData.run(dataId);
      this.stmts.unindexBlocks.run(dataId);
      freed.push(dataId);
    }
  }

  private unlinkFreed(freed: readonly number[]): void {
    for (const id of freed) {
      if (this.holds.has(id)) this.unlinkWhenReleased.add(id);
      else this.blobs.remove(id);
    }
  }

  /** Forgets a blob written for a change that was never committed. */
  discardBlob(dataId: number): void {
    if (!this.data(dataId)) this.blobs.remove(dataId);
  }

  // ---- replication ----------------------------------------------------------------------

  /** Highest change counter held per origin (each origin's changes are a gap-free prefix). */
  vector(): Map<string, number> {
    return new Map((this.stmts.vector.all() as Row[]).map((r) => [r.origin as string, r.counter as number]));
  }

  /** Changes in local arrival order after `seq`: parents always come before their children. */
  changesAfter(seq: number, limit: number): Array<{ seq: number; change: Change }> {
    return (this.stmts.changesAfter.all(seq, limit) as Row[]).map((r) => ({ seq: r.seq as number, change: toChange(r) }));
  }

  lastSeq(): number {
    return (this.stmts.maxSeq.get() as { seq: number }).seq;
  }

  instances(): Array<{ id: string; name: string; publicKey: string | null }> {
    return (this.stmts.instances.all() as Row[]).map((r) => ({ id: r.id as string, name: r.name as string, publicKey: r.public_key as string | null }));
  }

  noteInstance(id: string, name: string, publicKey: string | null): void {
    const now = Date.now();
    this.stmts.upsertInstance.run(id, name, now, now, publicKey);
  }

  hasChange(id: string): boolean {
    return this.stmts.change.get(id) !== undefined;
  }

  missingList(): Missing[] {
    return (this.stmts.allMissing.all() as Row[]).map(toMissing);
  }

  missing(changeId: string): Missing | undefined {
    const r = this.stmts.missing.get(changeId) as Row | undefined;
    return r && toMissing(r);
  }

  /** A local blob holding exactly the content of `changeId`, if this instance has one. */
  contentSource(changeId: string): DataRow | undefined {
    const r = this.stmts.contentSource.get(changeId, changeId) as { data_id: number } | undefined;
    return r ? this.data(r.data_id) : undefined;
  }

  /**
   * Stores a change received from a peer and moves heads (metadata is visible at once).
   * Content it needs is recorded as missing; returns those entries (none for a duplicate).
   * Throws ReplicationError when the change breaks the protocol (gap, unknown parent).
   */
  receive(c: Change): Missing[] {
    if (this.hasChange(c.id)) return [];
    const held = this.vector().get(c.origin) ?? 0;
    if (c.counter !== held + 1) throw new ReplicationError('MARBLE_OUT_OF_ORDER', `change ${c.id} arrived but ${c.origin} is at ${held}`);
    if (c.parentId && !this.hasChange(c.parentId)) throw new ReplicationError('MARBLE_OUT_OF_ORDER', `change ${c.id} arrived before its parent ${c.parentId}`);
    for (const m of c.merges) if (!this.hasChange(m)) throw new ReplicationError('MARBLE_OUT_OF_ORDER', `change ${c.id} merges unknown ${m}`);
    this.lastHlc = Math.max(this.lastHlc, c.hlc);
    const created: Missing[] = [];
    this.createdMissing = created;
    this.atomically((freed) => {
      this.insertChange(c);
      let content: HeadContent = NO_CONTENT;
      if (c.kind === 'meta') content = this.contentAfterParent(c);
      else if ((c.kind === 'create' && !c.meta.isDir && c.meta.linkTo === null) || c.kind === 'write') {
        const base = c.kind === 'write' ? this.baseFor(c.nodeId, c.parentId!) : { changeId: null, dataId: null };
        this.addMissing(c.id, c.nodeId, base);
        content = { dataId: base.dataId, contentChange: c.id, pending: true };
      }
      this.applyChange(c, content, freed);
      if (c.meta.isDir && c.kind === 'meta') this.breakCycles(c.nodeId);
    });
    this.createdMissing = null;
    for (const l of this.listeners) l([]);
    return created;
  }

  /**
   * Concurrent moves can put folders inside each other (x into y here, y into x elsewhere).
   * Every instance undoes the same one: the lowest-ranked move in the cycle (oldest by
   * clock, then instance id) goes back to where it was before; it stays in history.
   */
  private breakCycles(nodeId: string): void {
    for (let round = 0; round < 64; round++) {
      const cycle = this.cycleThrough(nodeId);
      if (!cycle) return;
      const loser = cycle.reduce((a, b) => (b.hlc < a.hlc || (b.hlc === a.hlc && b.origin < a.origin) ? b : a));
      let before = this.change(loser.changeId);
      const place = { name: loser.name, parentDir: loser.parentDir };
      while (before && before.meta.parentDir === place.parentDir && before.parentId) before = this.change(before.parentId);
      const target = before && before.meta.parentDir !== place.parentDir ? before.meta : { name: loser.name, parentDir: ROOT_NODE };
      this.stmts.moveHead.run(target.name, target.parentDir, loser.nodeId, loser.changeId);
    }
  }

  /** The heads forming a parent cycle that `nodeId` is on, if any (instance-independent ranking). */
  private cycleThrough(nodeId: string): Head[] | null {
    const path: Head[] = [];
    for (let id = nodeId; id !== ROOT_NODE; ) {
      const heads = this.headsOf(id);
      if (!heads.length) return null;
      const head = heads.reduce((a, b) => (rankBefore(b, a) ? b : a));
      const seen = path.findIndex((h) => h.nodeId === head.nodeId);
      if (seen >= 0) return path.slice(seen);
      path.push(head);
      id = head.parentDir;
    }
    return null;
  }

  /** What fetching a missing change's content takes: its size, every block's hash, and the blocks the base lacks. */
  contentPlan(changeId: string): { size: number; hashes: Buffer; needed: number[]; baseDataId: number | null } | undefined {
    const m = this.missing(changeId);
    const target = this.change(changeId);
    if (!m || !target) return undefined;
    const base = m.baseDataId !== null ? this.data(m.baseDataId)?.hashes ?? Buffer.alloc(0) : Buffer.alloc(0);
    const chain: Change[] = [];
    for (let c: Change | undefined = target; c && c.id !== m.baseChangeId; c = c.parentId ? this.change(c.parentId) : undefined) {
      if (c.kind === 'create' || c.kind === 'write') chain.unshift(c);
      if (c.kind === 'create') break;
    }
    const size = target.meta.size;
    const n = blockCount(size);
    const hashes = Buffer.alloc(n * HASH_SIZE);
    const fromBase = chain[0]?.kind === 'create' ? Buffer.alloc(0) : base;
    fromBase.copy(hashes, 0, 0, Math.min(fromBase.length, hashes.length));
    for (const c of chain) {
      const packed = c.blockHashes ?? Buffer.alloc(0);
      for (let at = 0; at + 4 + HASH_SIZE <= packed.length; at += 4 + HASH_SIZE) {
        const index = packed.readUInt32BE(at);
        if (index < n) packed.copy(hashes, index * HASH_SIZE, at + 4, at + 4 + HASH_SIZE);
      }
    }
    const needed: number[] = [];
    const baseBlocks = fromBase.length / HASH_SIZE;
    for (let i = 0; i < n; i++) if (i >= baseBlocks || !hashOf(fromBase, i).equals(hashOf(hashes, i))) needed.push(i);
    return { size, hashes, needed, baseDataId: fromBase.length ? m.baseDataId : null };
  }

  /**
   * The content of missing change `changeId` is durable in blob `dataId` (or is `resident`,
   * see RESIDENT_MAX): heads waiting for it now show it. Returns false (and drops nothing) if
   * the change is no longer missing.
   */
  materialize(changeId: string, dataId: number, size: number, hashes: Buffer, resident?: Buffer): boolean {
    const m = this.missing(changeId);
    const change = this.change(changeId);
    if (!m || !change) return false;
    this.atomically((freed) => {
      this.insertData(dataId, changeId, size, hashes, resident);
      for (const h of (this.stmts.pendingHeadsOf.all(changeId) as Row[]).map(toHead)) {
        this.stmts.materializeHead.run(dataId, h.nodeId, h.changeId);
        if (h.dataId !== null) this.unref(h.dataId, freed);
        this.ref(dataId);
      }
      this.retain(m.nodeId, changeId, dataId, change.hlc, freed);
      this.stmts.deleteMissing.run(changeId);
      if (m.baseDataId !== null) this.unref(m.baseDataId, freed);
      if (this.data(dataId)!.refs <= 0) {
        this.stmts.deleteData.run(dataId);
        this.stmts.unindexBlocks.run(dataId);
        freed.push(dataId);
      }
    });
    for (const l of this.listeners) l([]);
    return true;
  }

  /** The content a change on top of `parentId` builds on: the parent's, as far as it is here. */
  private baseFor(nodeId: string, parentId: string): { changeId: string | null; dataId: number | null } {
    const parent = this.stmts.headByChange.get(nodeId, parentId) as Row | undefined;
    if (parent) {
      const h = toHead(parent);
      if (!h.pending) return { changeId: h.contentChange, dataId: h.dataId };
      const m = h.contentChange ? this.missing(h.contentChange) : undefined;
      return m ? { changeId: m.baseChangeId, dataId: m.baseDataId } : { changeId: null, dataId: null };
    }
    // Concurrent with the current head: build on the newest ancestor content held here.
    for (let c = this.change(parentId); c; c = c.parentId ? this.change(c.parentId) : undefined) {
      if (c.kind !== 'create' && c.kind !== 'write') continue;
      const data = this.contentSource(c.id);
      if (data) return { changeId: c.id, dataId: data.id };
      if (c.kind === 'create') break;
    }
    return { changeId: null, dataId: null };
  }

  /** Head content for a metadata change: the parent head's, or (concurrent) the parent's content change. */
  private contentAfterParent(c: Change): HeadContent {
    const parent = this.stmts.headByChange.get(c.nodeId, c.parentId) as Row | undefined;
    if (parent) return headContentOf(toHead(parent));
    if (c.meta.isDir || c.meta.linkTo !== null) return NO_CONTENT; // a link shows its target's content
    for (let a = this.change(c.parentId!); a; a = a.parentId ? this.change(a.parentId) : undefined) {
      if (a.kind !== 'create' && a.kind !== 'write') continue;
      const data = this.contentSource(a.id);
      if (data) return { dataId: data.id, contentChange: a.id, pending: false };
      const existing = this.missing(a.id);
      if (!existing) this.addMissing(a.id, c.nodeId, a.kind === 'write' ? this.baseFor(a.nodeId, a.parentId!) : { changeId: null, dataId: null });
      const m = this.missing(a.id)!;
      return { dataId: m.baseDataId, contentChange: a.id, pending: true };
    }
    return NO_CONTENT;
  }

  private addMissing(changeId: string, nodeId: string, base: { changeId: string | null; dataId: number | null }): Missing {
    this.stmts.insertMissing.run(changeId, nodeId, base.changeId, base.dataId);
    if (base.dataId !== null) this.ref(base.dataId);
    const m = { changeId, nodeId, baseChangeId: base.changeId, baseDataId: base.dataId };
    this.createdMissing?.push(m);
    return m;
  }

  /** Whether a head shows this change's content once it arrives (false: only history wants it). */
  awaited(changeId: string): boolean {
    return (this.stmts.pendingHeadsOf.all(changeId) as Row[]).length > 0;
  }

  /** Gives up fetching a version only history wanted, when no peer has it any more. */
  abandonMissing(changeId: string): void {
    this.atomically((freed) => this.dropMissingIfUnused(changeId, freed));
  }

  /** A missing change no head waits for any more (superseded locally) is not fetched. */
  private dropMissingIfUnused(changeId: string, freed: number[]): void {
    if ((this.stmts.pendingHeadsOf.all(changeId) as Row[]).length) return;
    const m = this.missing(changeId);
    if (!m) return;
    this.stmts.deleteMissing.run(changeId);
    if (m.baseDataId !== null) this.unref(m.baseDataId, freed);
  }

  // ---- properties -----------------------------------------------------------------------

  props(nodeId: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const r of this.stmts.props.all(nodeId) as Row[]) out.set(r.name as string, r.value as string);
    return out;
  }

  /** Properties of many nodes in one query, in the order of `nodeIds`. */
  propsOfMany(nodeIds: readonly string[]): Array<Map<string, string>> {
    const byNode = new Map(nodeIds.map((id) => [id, new Map<string, string>()]));
    if (nodeIds.length) {
      for (const r of this.stmts.propsOfMany.all(JSON.stringify(nodeIds)) as Row[]) byNode.get(r.node_id as string)?.set(r.name as string, r.value as string);
    }
    return nodeIds.map((id) => byNode.get(id)!);
  }

  patchProps(nodeId: string, set: ReadonlyMap<string, string>, remove: readonly string[]): void {
    this.db.transaction(() => {
      for (const name of remove) this.stmts.deleteProp.run(nodeId, name);
      for (const [name, value] of set) this.stmts.setProp.run(nodeId, name, value);
    })();
  }

  copyProps(fromNode: string, toNode: string): void {
    this.stmts.copyProps.run(toNode, fromNode);
  }

  // ---- counters -------------------------------------------------------------------------

  private nextCounter(name: string): number {
    const r = this.stmts.bumpCounter.get(name) as { value: number } | undefined;
    if (r) return r.value;
    this.stmts.upsertCounter.run(name, 1);
    return 1;
  }

  /** Hybrid logical clock: wall time, but never behind the last value issued or seen. */
  private nextHlc(): number {
    this.lastHlc = Math.max(Date.now(), this.lastHlc + 1);
    return this.lastHlc;
  }

  private removeLeftovers(): void {
    const known = new Set((this.stmts.fileDataIds.all() as Array<{ id: number }>).map((r) => r.id));
    this.blobs.removeOrphans((id) => known.has(id));
  }
}

function prepare(db: Db) {
  const headCols =
    'node_id, change_id, origin, name, parent_dir, is_dir, deleted, data_id, writable, mode, mtime_s, mtime_ns, size, hlc, birth_hlc, content_change, pending, link_to, symlink';
  /** Head `h` is live and shown: not a hard link whose file is gone (the tree hides those). */
  const shown = (h: string) => `${h}.deleted = 0 AND (${h}.link_to IS NULL OR EXISTS (SELECT 1 FROM heads t WHERE t.node_id = ${h}.link_to AND t.deleted = 0))`;
  return {
    getConfig: db.prepare('SELECT value FROM config WHERE key = ?'),
    setConfig: db.prepare('INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    bumpCounter: db.prepare('UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value'),
    reserveCounter: db.prepare('UPDATE counters SET value = value + ? WHERE name = ? RETURNING value'),
    upsertCounter: db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
    upsertInstance: db.prepare(
      'INSERT INTO instances (id, name, first_seen, last_seen, public_key) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, last_seen = excluded.last_seen, public_key = coalesce(excluded.public_key, public_key)',
    ),
    instances: db.prepare('SELECT id, name, public_key FROM instances ORDER BY id'),
    setVector: db.prepare('INSERT INTO version_vector (origin, counter) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET counter = max(counter, excluded.counter)'),
    vector: db.prepare('SELECT origin, counter FROM version_vector'),
    changesAfter: db.prepare('SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?'),
    maxSeq: db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM changes'),
    insertMissing: db.prepare('INSERT OR REPLACE INTO missing (change_id, node_id, base_change_id, base_data_id) VALUES (?, ?, ?, ?)'),
    missing: db.prepare('SELECT * FROM missing WHERE change_id = ?'),
    allMissing: db.prepare('SELECT * FROM missing ORDER BY rowid'),
    deleteMissing: db.prepare('DELETE FROM missing WHERE change_id = ?'),
    pendingHeadsOf: db.prepare(`SELECT ${headCols} FROM heads WHERE content_change = ? AND pending = 1`),
    materializeHead: db.prepare('UPDATE heads SET data_id = ?, pending = 0 WHERE node_id = ? AND change_id = ?'),
    contentSource: db.prepare("SELECT data_id FROM heads WHERE content_change = ? AND pending = 0 AND deleted = 0 AND data_id IS NOT NULL UNION ALL SELECT data_id FROM retained WHERE change_id = ? LIMIT 1"),
    missingStats: db.prepare('SELECT count(*) AS n FROM missing'),
    indexBlock: db.prepare('INSERT INTO block_index (hash, data_id, idx) VALUES (?, ?, ?)'),
    unindexBlocks: db.prepare('DELETE FROM block_index WHERE data_id = ?'),
    findBlock: db.prepare('SELECT data_id, idx FROM block_index WHERE hash = ? LIMIT 1'),
    moveHead: db.prepare('UPDATE heads SET name = ?, parent_dir = ? WHERE node_id = ? AND change_id = ?'),
    instanceName: db.prepare('SELECT name FROM instances WHERE id = ?'),
    headsOf: db.prepare(`SELECT ${headCols} FROM heads WHERE node_id = ?`),
    headByChange: db.prepare(`SELECT ${headCols} FROM heads WHERE node_id = ? AND change_id = ?`),
    headsNamed: db.prepare(`SELECT ${headCols} FROM heads WHERE parent_dir = ? AND name = ? ORDER BY deleted, hlc DESC`),
    headsInDir: db.prepare(`SELECT ${headCols} FROM heads WHERE parent_dir = ? AND deleted = 0 AND name > ? ORDER BY name LIMIT ?`),
    allHeadsInDir: db.prepare(`SELECT ${headCols} FROM heads WHERE parent_dir = ? AND name > ? ORDER BY name, deleted, hlc DESC LIMIT ?`),
    anyLiveChild: db.prepare(`SELECT 1 FROM heads h WHERE h.parent_dir = ? AND ${shown('h')} LIMIT 1`),
    deletedSubdirs: db.prepare('SELECT DISTINCT node_id FROM heads WHERE parent_dir = ? AND deleted = 1 AND is_dir = 1'),
    deleteHead: db.prepare('DELETE FROM heads WHERE node_id = ? AND change_id = ?'),
    insertHead: db.prepare(`INSERT INTO heads (${headCols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    change: db.prepare('SELECT * FROM changes WHERE id = ?'),
    contentChanges: db.prepare("SELECT * FROM changes WHERE node_id = ? AND kind IN ('create', 'write') ORDER BY hlc, id"),
    insertChange: db.prepare(
      'INSERT INTO changes (id, origin, counter, node_id, parent_id, kind, name, parent_dir, is_dir, mode, mtime_s, mtime_ns, size, ranges, block_hashes, hlc, seq, merges, link_to, symlink) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    changeCount: db.prepare('SELECT count(*) AS n FROM changes'),
    data: db.prepare('SELECT id, change_id, refs, size, hashes FROM data WHERE id = ?'),
    residentContent: db.prepare('SELECT content FROM data WHERE id = ?'),
    /** Data rows whose blob is a file (a resident one has none: a file by its id is a leftover). */
    fileDataIds: db.prepare('SELECT id FROM data WHERE content IS NULL'),
    insertData: db.prepare('INSERT INTO data (id, change_id, refs, size, hashes, content) VALUES (?, ?, 0, ?, ?, ?)'),
    addRef: db.prepare('UPDATE data SET refs = refs + ? WHERE id = ? RETURNING refs'),
    deleteData: db.prepare('DELETE FROM data WHERE id = ?'),
    stats: db.prepare('SELECT count(*) AS blobs, sum(size) AS bytes FROM data'),
    insertRetained: db.prepare('INSERT OR IGNORE INTO retained (node_id, change_id, data_id, hlc) VALUES (?, ?, ?, ?)'),
    retainedOf: db.prepare('SELECT * FROM retained WHERE node_id = ? ORDER BY hlc'),
    retainedBeyond: db.prepare('SELECT change_id, data_id FROM retained WHERE node_id = ? ORDER BY hlc DESC LIMIT -1 OFFSET ?'),
    deleteRetained: db.prepare('DELETE FROM retained WHERE node_id = ? AND change_id = ?'),
    props: db.prepare('SELECT name, value FROM props WHERE node_id = ? ORDER BY name'),
    propsOfMany: db.prepare('SELECT node_id, name, value FROM props WHERE node_id IN (SELECT value FROM json_each(?)) ORDER BY name'),
    setProp: db.prepare('INSERT INTO props (node_id, name, value) VALUES (?, ?, ?) ON CONFLICT (node_id, name) DO UPDATE SET value = excluded.value'),
    deleteProp: db.prepare('DELETE FROM props WHERE node_id = ? AND name = ?'),
    splitNodes: db.prepare('SELECT node_id FROM heads GROUP BY node_id HAVING count(*) > 1'),
    // Origins of live heads sharing a name with another node in one folder as the tree shows
    // it: the same folder, or same-named folders at any depth under folders shown merged.
    collisionOrigins: db.prepare(`
      WITH RECURSIVE merged (d1, d2) AS (
        SELECT a.node_id, b.node_id FROM heads a
          JOIN heads b ON b.parent_dir = a.parent_dir AND b.name = a.name AND b.is_dir = 1 AND b.node_id != a.node_id
          WHERE a.is_dir = 1
        UNION
        SELECT c1.node_id, c2.node_id FROM merged m
          JOIN heads c1 ON c1.parent_dir = m.d1 AND c1.is_dir = 1
          JOIN heads c2 ON c2.parent_dir = m.d2 AND c2.name = c1.name AND c2.is_dir = 1 AND c2.node_id != c1.node_id
      )
      SELECT DISTINCT h.origin FROM heads h JOIN (SELECT parent_dir, name FROM heads x WHERE ${shown('x')} GROUP BY parent_dir, name HAVING count(DISTINCT node_id) > 1) c
        ON c.parent_dir = h.parent_dir AND c.name = h.name WHERE ${shown('h')}
      UNION
      SELECT DISTINCT h.origin FROM merged m
        JOIN heads h ON h.parent_dir = m.d1 AND ${shown('h')}
        JOIN heads h2 ON h2.parent_dir = m.d2 AND h2.name = h.name AND ${shown('h2')}`),
    headCount: db.prepare('SELECT count(*) AS n FROM heads WHERE node_id = ?'),
    linkTargets: db.prepare('SELECT DISTINCT link_to FROM heads WHERE link_to IS NOT NULL AND deleted = 0'),
    linksTo: db.prepare(`SELECT ${headCols} FROM heads WHERE link_to = ? AND deleted = 0 ORDER BY birth_hlc, node_id, hlc DESC`),
    linkCount: db.prepare('SELECT count(DISTINCT node_id) AS n FROM heads WHERE link_to = ? AND deleted = 0'),
    dirTime: db.prepare('SELECT hlc FROM dir_times WHERE node_id = ?'),
    touchDir: db.prepare('INSERT INTO dir_times (node_id, hlc) VALUES (?, ?) ON CONFLICT (node_id) DO UPDATE SET hlc = max(hlc, excluded.hlc)'),
    copyProps: db.prepare('INSERT OR REPLACE INTO props (node_id, name, value) SELECT ?, name, value FROM props WHERE node_id = ?'),
  };
}

function splitNs(ns: bigint): [number, number] {
  const sec = ns / NS_PER_S;
  return [Number(sec), Number(ns - sec * NS_PER_S)];
}

function joinNs(sec: unknown, nsec: unknown): bigint {
  return BigInt(sec as number) * NS_PER_S + BigInt(nsec as number);
}

/** The ranking every instance agrees on: live first, newest clock, then lowest instance id. */
export function rankBefore(a: Head, b: Head): boolean {
  if (a.deleted !== b.deleted) return !a.deleted;
  if (a.hlc !== b.hlc) return a.hlc > b.hlc;
  return a.origin < b.origin;
}

function toMissing(r: Row): Missing {
  return {
    changeId: r.change_id as string,
    nodeId: r.node_id as string,
    baseChangeId: r.base_change_id as string | null,
    baseDataId: r.base_data_id as number | null,
  };
}

/** A peer broke the replication protocol; the session is closed with this code. */
export class ReplicationError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ReplicationError';
  }
}

function toHead(r: Row): Head {
  return {
    contentChange: r.content_change as string | null,
    pending: r.pending === 1,
    nodeId: r.node_id as string,
    changeId: r.change_id as string,
    origin: r.origin as string,
    name: r.name as string,
    parentDir: r.parent_dir as string,
    isDir: r.is_dir === 1,
    deleted: r.deleted === 1,
    dataId: r.data_id as number | null,
    writable: r.writable === 1,
    mode: r.mode as number,
    mtimeNs: joinNs(r.mtime_s, r.mtime_ns),
    size: r.size as number,
    linkTo: r.link_to as string | null,
    symlink: r.symlink === 1,
    hlc: r.hlc as number,
    birthHlc: r.birth_hlc as number,
  };
}

function toChange(r: Row): Change {
  const ranges = r.ranges ? (JSON.parse(r.ranges as string) as Array<[number, number]>).map(([offset, length]) => ({ offset, length })) : [];
  return {
    id: r.id as string,
    origin: r.origin as string,
    counter: r.counter as number,
    nodeId: r.node_id as string,
    parentId: r.parent_id as string | null,
    kind: r.kind as Change['kind'],
    meta: {
      name: r.name as string,
      parentDir: r.parent_dir as string,
      isDir: r.is_dir === 1,
      mode: r.mode as number,
      mtimeNs: joinNs(r.mtime_s, r.mtime_ns),
      size: r.size as number,
      linkTo: r.link_to as string | null,
      symlink: r.symlink === 1,
    },
    ranges,
    blockHashes: r.block_hashes as Buffer | null,
    hlc: r.hlc as number,
    merges: r.merges ? (JSON.parse(r.merges as string) as string[]) : [],
  };
}

interface HeadContent {
  readonly dataId: number | null;
  readonly contentChange: string | null;
  readonly pending: boolean;
}

const NO_CONTENT: HeadContent = { dataId: null, contentChange: null, pending: false };

function headContentOf(h: Head): HeadContent {
  return { dataId: h.dataId, contentChange: h.contentChange, pending: h.pending };
}
