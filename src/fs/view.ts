import { openSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { blockCount, changedBlocks } from '../core/blocks.js';
import { ROOT_NODE } from '../core/ids.js';
import type { Head, LocalChange, NodeMeta } from '../core/model.js';
import { nowNs } from '../core/model.js';
import type { Store } from '../core/store.js';
import { SizeMismatch } from '../core/blobs.js';
import {
  Conflict,
  ContentUnavailable,
  Exists,
  FsError,
  fromSystemError,
  Gone,
  InvalidMove,
  InvalidName,
  IsDir,
  isFsError,
  NotDir,
  NotEmpty,
  NotFound,
  ReadOnly,
} from './errors.js';
import { checkName, HISTORY_DIR, RESERVED_ROOT_NAMES, SPLITS_DIR, splitPath } from './paths.js';
import { MAIN, Tree, type Target } from './tree.js';
import type { CopyOptions, Entry, FileSystemView, ListPage, MoveOptions, ReadHandle, SpaceInfo, WriteFileOptions, WriteSession } from './types.js';
import { BlobReader, ResidentReader } from './blob-readers.js';
import { FileWriteSession, type SessionHost } from './write-session.js';

export interface ViewOptions {
  /** A write session with no writes for this long commits what it has (NFS has no close). */
  readonly idleCommitMs?: number;
  /** How long a read waits for content still arriving from a peer without a block arriving, before failing. */
  readonly contentWaitMs?: number;
  /** When a block of a change's content last arrived from a peer (the fetcher's lastArrival). */
  readonly lastArrival?: (changeId: string) => number | undefined;
}

/** However steadily content arrives, a read waits at most this long (NFS clients retry on JUKEBOX). */
const CONTENT_WAIT_MAX_MS = 30_000;

const DEFAULT_PAGE = 1000;
/** Listing pages kept (see MarbleView.pages). */
const PAGE_CACHE = 64;
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
const SYMLINK_MODE = 0o777;

/** The filesystem view over the store (DESIGN §4): what WebDAV, NFS and FUSE call. */
export class MarbleView implements FileSystemView, SessionHost {
  readonly tree: Tree;
  private readonly sessions = new Map<string, FileWriteSession>();
  private readonly idleMs: number;
  private readonly contentWaitMs: number;
  private readonly lastArrival: (changeId: string) => number | undefined;
  /** Pages of folder listings until the next commit: clients list a folder page by page, and often again. */
  private readonly pages = new Map<string, ListPage>();
  /** The blob empty files share, once one exists (checked before each use: it may be freed). */
  private emptyDataId: number | null = null;

  constructor(readonly store: Store, opts: ViewOptions = {}) {
    this.tree = new Tree(store);
    this.idleMs = opts.idleCommitMs ?? 1000;
    this.contentWaitMs = opts.contentWaitMs ?? 2000;
    this.lastArrival = opts.lastArrival ?? (() => undefined);
    store.onCommit(() => this.pages.clear());
  }

  onCommit(listener: () => void): () => void {
    return this.store.onCommit(() => listener());
  }

  // ---- reads ----------------------------------------------------------------------------

  async stat(path: string): Promise<Entry> {
    return this.entryFor(this.resolve(path), path);
  }

  async list(path: string, opts: { cursor?: string | null; limit?: number } = {}): Promise<ListPage> {
    const target = this.resolve(path);
    const after = opts.cursor ?? '';
    const limit = Math.max(1, Math.min(opts.limit ?? DEFAULT_PAGE, 10_000));
    switch (target.kind) {
      case 'dir': {
        const key = `${target.tree.kind === 'split' ? target.tree.instanceId : ''}/${target.merged.join('/')}/${limit}/${after}`;
        let page = this.pages.get(key);
        if (!page) {
          const { shown, lastName } = this.tree.children(target.tree, target.merged, after, limit);
          let entries = shown.map(({ head, name }) => this.tree.headEntry(head, target.tree, name));
          if (target.tree.kind === 'main' && target.dirId === ROOT_NODE && after === '') entries = [...this.virtualRootEntries(), ...entries];
          page = { entries, cursor: lastName };
          if (this.pages.size >= PAGE_CACHE) this.pages.clear();
          this.pages.set(key, page);
        }
        return { entries: [...page.entries], cursor: page.cursor };
      }
      case 'splits':
        return {
          entries: [...this.tree.splitInstances().entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([name, id]) => this.tree.rootEntry(`s:${id}`, name, true)),
          cursor: null,
        };
      case 'history-dir': {
        const { heads, lastName } = this.tree.historyChildren(target.dirId, after, limit);
        return { entries: heads.map((h) => this.tree.historyEntry(h)), cursor: lastName };
      }
      case 'history-file':
        return { entries: this.tree.versions(target.head).map((v) => this.tree.versionEntry(v)), cursor: null };
      default:
        throw NotDir(path);
    }
  }

  async openRead(path: string): Promise<ReadHandle> {
    const target = await this.resolveWithContent(path);
    let dataId: number | null;
    if (target.kind === 'file') dataId = target.head.dataId;
    else if (target.kind === 'version') {
      dataId = target.dataId;
      if (dataId === null) throw Gone(path);
    } else throw IsDir(path);
    if (dataId === null) throw NotFound(path);
    const entry = this.entryFor(target, path);
    const resident = this.store.blobs.resident(dataId);
    if (resident) return new ResidentReader(entry, resident);
    this.store.hold(dataId); // same tick as the lookup: the blob cannot be freed in between
    let fd: number;
    try {
      fd = openSync(this.store.blobs.path(dataId), 'r'); // microseconds: cheaper than a thread-pool round trip
    } catch (e) {
      this.store.release(dataId);
      throw e;
    }
    return new BlobReader(entry, fd, () => this.store.release(dataId!));
  }

  syncCommitted(): Promise<void> {
    return this.store.syncCommitted();
  }

  async getProps(path: string): Promise<Map<string, string>> {
    const target = this.resolve(path);
    const nodeId = this.nodeIdOf(target);
    return nodeId ? this.store.props(nodeId) : new Map();
  }

  async getPropsOf(keys: readonly string[]): Promise<Array<Map<string, string>>> {
    // Only main-tree nodes carry properties; their key is the node id.
    const nodeIds = keys.map((k) => (isMainKey(k) ? k : ''));
    return this.store.propsOfMany(nodeIds);
  }

  async space(): Promise<SpaceInfo> {
    const st = await statfs(this.store.dataDir);
    return { usedBytes: this.store.stats().blobBytes, availableBytes: Number(st.bavail) * Number(st.bsize) };
  }

  async pathOf(key: string): Promise<string> {
    for (const path of this.placesOf(key)) {
      // confirm: a name shadowed by another node is not reachable
      const target = this.resolveIfThere(path);
      if (target && this.entryFor(target, path).key === key) return path;
    }
    throw NotFound(`entry ${key}`);
  }

  /** Where `key` may be shown: its own place, then (a file) where its hard links are, for when its own name is shadowed. */
  private *placesOf(key: string): Generator<string> {
    const own = this.locate(key);
    if (own !== undefined) yield own;
    if (!isMainKey(key)) return;
    for (const link of this.store.linksTo(key)) {
      const path = this.locate(link.nodeId);
      if (path !== undefined) yield path;
    }
  }

  private resolveIfThere(path: string): Target | undefined {
    try {
      return this.resolve(path);
    } catch (e) {
      if (isFsError(e, 'MARBLE_NOT_FOUND') || isFsError(e, 'MARBLE_NOT_DIR')) return undefined;
      throw e;
    }
  }

  private locate(key: string): string | undefined {
    const fixed: Record<string, string> = { [ROOT_NODE]: '/', 'h:root': `/${HISTORY_DIR}`, 's:': `/${SPLITS_DIR}` };
    if (fixed[key]) return fixed[key];
    const join = (prefix: string, parts: string[] | undefined) => (parts ? [prefix, ...parts].join('/').replace(/^\/\//, '/') : undefined);
    if (key.startsWith('v:')) {
      const change = this.store.change(key.slice(2));
      const head = change && this.tree.choose(MAIN, this.store.headsOf(change.nodeId));
      const version = head && this.tree.versions(head).find((v) => v.change.id === change.id);
      const dir = change && join(`/${HISTORY_DIR}`, this.tree.segmentsOf(change.nodeId, 'history'));
      return dir && version ? `${dir}/${version.name}` : undefined;
    }
    if (key.startsWith('h:')) return join(`/${HISTORY_DIR}`, this.tree.segmentsOf(key.slice(2), 'history'));
    if (key.startsWith('s:')) {
      const [instanceId, ...rest] = key.slice(2).split(':');
      const name = [...this.tree.splitInstances()].find(([, id]) => id === instanceId)?.[0];
      if (!name) return undefined;
      const base = `/${SPLITS_DIR}/${name}`;
      return rest.length ? join(base, this.tree.segmentsOf(rest.join(':'), { kind: 'split', instanceId: instanceId! })) : base;
    }
    return join('', this.tree.segmentsOf(key, MAIN));
  }

  // ---- writes ---------------------------------------------------------------------------

  async mkdir(path: string, opts: { mode?: number } = {}): Promise<Entry> {
    const { dirId, name, existing } = this.resolveForCreate(path);
    if (existing) throw Exists(path);
    const [head] = this.commit(path, [{ kind: 'create', meta: this.newMeta(name, dirId, true, opts.mode ?? DIR_MODE, 0) }]);
    return this.entryOf(head!);
  }

  async createFile(path: string, opts: { exclusive?: boolean; mode?: number } = {}): Promise<Entry> {
    const { dirId, name, existing } = this.resolveForCreate(path);
    if (existing) {
      if (opts.exclusive) throw Exists(path);
      if (existing.isDir) throw IsDir(path);
      return this.entryOf(existing);
    }
    const meta = this.newMeta(name, dirId, false, opts.mode ?? FILE_MODE, 0);
    // Empty files share one empty blob (blobs are never written in place): no file to create.
    const empty = this.emptyDataId !== null && this.store.data(this.emptyDataId)?.size === 0 ? this.emptyDataId : null;
    if (empty !== null) return this.entryOf(this.commit(path, [{ kind: 'create', meta, content: { shareDataId: empty } }])[0]!);
    const dataId = this.store.allocateDataId();
    await this.guard(path, async () => this.store.blobs.createEmpty(dataId), dataId);
    const again = this.resolveForCreate(path);
    if (again.existing) {
      this.store.discardBlob(dataId);
      return this.createFile(path, opts);
    }
    const [head] = this.commit(path, [{ kind: 'create', meta, content: { dataId, size: 0, hashes: Buffer.alloc(0), touched: [] } }], dataId);
    this.emptyDataId = dataId;
    return this.entryOf(head!);
  }

  async writeFile(path: string, body: AsyncIterable<Buffer>, opts: WriteFileOptions = {}): Promise<{ entry: Entry; created: boolean }> {
    return this.writeContent(path, body, opts, { mode: FILE_MODE, symlink: false });
  }

  async symlink(path: string, target: Buffer, opts: { mode?: number } = {}): Promise<Entry> {
    async function* body() {
      yield target;
    }
    const meta = { mode: (opts.mode ?? SYMLINK_MODE) & 0o7777, symlink: true };
    return (await this.writeContent(path, body(), { mode: 'create', expectedSize: target.length }, meta)).entry;
  }

  /** writeFile; a file it creates takes `created`'s mode and symlink flag. */
  private async writeContent(
    path: string,
    body: AsyncIterable<Buffer>,
    opts: WriteFileOptions,
    created: { mode: number; symlink: boolean },
  ): Promise<{ entry: Entry; created: boolean }> {
    const before = this.resolveForCreate(path);
    this.checkWriteTarget(path, this.fileShown(before.existing), opts);
    const dataId = this.store.allocateDataId();
    const { size, hashes, resident } = await this.guard(path, () => this.store.blobs.writeStream(dataId, body, opts.expectedSize), dataId);
    // The tree may have moved on while the body streamed in: decide against what is there now.
    let now: ReturnType<MarbleView['resolveForCreate']>;
    try {
      now = this.resolveForCreate(path);
      this.checkWriteTarget(path, this.fileShown(now.existing), opts);
    } catch (e) {
      this.store.discardBlob(dataId);
      throw e;
    }
    const { dirId, name } = now;
    const existing = this.fileShown(now.existing);
    if (!existing) {
      const all = [...Array(blockCount(size)).keys()];
      const meta = { ...this.newMeta(name, dirId, false, created.mode, size), symlink: created.symlink };
      const [head] = this.commit(path, [{ kind: 'create', meta, content: { dataId, size, hashes, touched: all, resident } }], dataId);
      return { entry: this.entryOf(head!), created: true };
    }
    const touched = changedBlocks(this.contentHashes(existing), hashes);
    if (!touched.length && size === existing.size) {
      this.store.discardBlob(dataId); // identical content: nothing to record
      return { entry: this.entryOf(existing), created: false };
    }
    const [head] = this.commit(
      path,
      [{ kind: 'write', head: existing, meta: { ...existing, size, mtimeNs: nowNs() }, content: { dataId, size, hashes, touched, resident } }],
      dataId,
    );
    return { entry: this.entryOf(head!), created: false };
  }

  async openWrite(path: string): Promise<WriteSession> {
    await this.resolveWithContent(path);
    const head = this.mainFile(path);
    const open = this.sessions.get(head.nodeId);
    if (open) {
      open.users++;
      return sharedHandle(open);
    }
    const session = new FileWriteSession(this, head.nodeId, path, this.idleMs);
    this.sessions.set(head.nodeId, session);
    return sharedHandle(session);
  }

  async truncate(path: string, size: number): Promise<Entry> {
    if (!Number.isSafeInteger(size) || size < 0) throw InvalidName(`${path}: size ${size}`);
    const session = await this.openWrite(path);
    try {
      await session.truncate(size);
      return await session.close();
    } catch (e) {
      await session.abort();
      throw e;
    }
  }

  async rename(from: string, to: string, opts: MoveOptions = {}): Promise<{ entry: Entry; replaced: boolean }> {
    const [src, ...merged] = this.mainNodes(from, true);
    const { dirId, name, existing } = this.resolveForCreate(to);
    if (existing && fileIdOf(existing) === fileIdOf(src!)) return { entry: this.entryOf(src!), replaced: false };
    for (const h of [src!, ...merged]) if (h.isDir) this.checkNotInside(h.nodeId, dirId, from);
    if (existing && !opts.overwrite) throw Exists(to);
    const changes: LocalChange[] = existing ? this.deleteChanges([existing]) : [];
    // Folders shown as one move together, so the whole folder moves.
    for (const h of [src!, ...merged]) changes.push({ kind: 'meta', head: h, meta: { ...h, name, parentDir: dirId } });
    const heads = this.commit(to, changes);
    return { entry: this.entryOf(heads[heads.length - 1 - merged.length]!), replaced: !!existing };
  }

  async copy(from: string, to: string, opts: CopyOptions = {}): Promise<{ entry: Entry; replaced: boolean }> {
    const [src, ...merged] = this.mainNodes(from);
    const { dirId, name, existing } = this.resolveForCreate(to);
    if (existing?.nodeId === src!.nodeId) throw Exists(to);
    for (const h of [src!, ...merged]) if (h.isDir) this.checkNotInside(h.nodeId, dirId, from);
    if (existing && !opts.overwrite) throw Exists(to);
    const depth = opts.depth ?? 'infinity';
    const copied = this.store.atomically(() => {
      if (existing) this.store.commit(this.deleteChanges([existing]));
      const top = this.copyTree(src!, dirId, name, depth);
      if (depth === 'infinity') for (const h of merged) this.copyChildren(h, top.nodeId, depth);
      return top;
    });
    return { entry: this.entryOf(copied), replaced: !!existing };
  }

  async remove(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    const target = this.resolve(path);
    if ((target.kind === 'file' || target.kind === 'dir') && target.tree.kind === 'split' && target.head) {
      this.dropVersion(path, target.kind === 'file' ? (target.link ?? target.head) : target.head);
      return;
    }
    const heads = this.mainNodes(path, true);
    // Empty as listed: a hard link whose file is gone is not shown, and goes with the folder.
    if (heads[0]!.isDir && !opts.recursive && this.tree.children(MAIN, heads.map((h) => h.nodeId), '', 1).shown.length) throw NotEmpty(path);
    const changes = this.deleteChanges(heads);
    for (const c of changes) if (c.kind === 'delete') await this.sessions.get(c.head.nodeId)?.abort();
    if (changes.length) this.commit(path, changes);
  }

  async link(from: string, to: string): Promise<Entry> {
    const src = this.resolve(from);
    if (src.kind !== 'file') throw src.kind === 'version' ? ReadOnly(from) : IsDir(from);
    if (src.tree.kind !== 'main') throw ReadOnly(from);
    const { dirId, name, existing } = this.resolveForCreate(to);
    if (existing) throw Exists(to);
    // Always to the file itself: a link to a link names the file the first one shows.
    const meta = { ...this.newMeta(name, dirId, false, src.head.mode, 0), linkTo: src.head.nodeId };
    const [head] = this.commit(to, [{ kind: 'create', meta }]);
    return this.entryOf(head!);
  }

  /**
   * Resolves a split by keeping the version `instanceName` shows for `path` (a main-tree
   * path): one change that closes every other head of the node, on every instance.
   */
  async keepVersion(path: string, instanceName: string): Promise<Entry> {
    const instanceId = this.tree.splitInstances().get(instanceName);
    if (!instanceId) throw NotFound(`${path}: no split version from ${instanceName}`);
    const target = this.resolve(`/${SPLITS_DIR}/${instanceName}${path}`);
    if ((target.kind !== 'file' && target.kind !== 'dir') || !target.head) throw NotFound(path);
    const keep = target.head;
    const others = this.store.headsOf(keep.nodeId).filter((h) => h.changeId !== keep.changeId);
    const [head] = this.commit(path, [{ kind: 'meta', head: keep, meta: keep, merges: others }]);
    return this.entryOf(head!);
  }

  /** Deleting a version in its split path: the node keeps its other version(s). */
  private dropVersion(path: string, drop: Head): void {
    const others = this.store.headsOf(drop.nodeId).filter((h) => h.changeId !== drop.changeId);
    if (!others.length) {
      this.commit(path, this.deleteChanges([drop])); // a name collision: the other node stays
      return;
    }
    const keep = this.tree.choose(MAIN, others)!;
    this.commit(path, [keep.deleted ? { kind: 'delete', head: keep, merges: [drop] } : { kind: 'meta', head: keep, meta: keep, merges: [drop] }]);
  }

  async setMeta(path: string, meta: { mtimeNs?: bigint; mode?: number }): Promise<Entry> {
    const head = this.mainNode(path);
    const [next] = this.commit(path, [
      { kind: 'meta', head, meta: { ...head, mtimeNs: meta.mtimeNs ?? head.mtimeNs, mode: meta.mode === undefined ? head.mode : meta.mode & 0o7777 } },
    ]);
    return this.entryOf(next!);
  }

  async patchProps(path: string, set: ReadonlyMap<string, string>, remove: readonly string[]): Promise<void> {
    const target = this.resolve(path);
    if (target.kind !== 'dir' && target.kind !== 'file') throw ReadOnly(path);
    if (target.tree.kind !== 'main') throw ReadOnly(path);
    this.store.patchProps(target.head?.nodeId ?? ROOT_NODE, set, remove);
  }

  // ---- SessionHost ----------------------------------------------------------------------

  currentHead(nodeId: string): Head | undefined {
    const live = this.store.headsOf(nodeId).filter((h) => !h.deleted);
    return live.length <= 1 ? live[0] : this.tree.choose(MAIN, live);
  }

  entryOf(head: Head): Entry {
    return this.tree.headEntry(head, MAIN);
  }

  ended(session: FileWriteSession): void {
    if (this.sessions.get(session.key) === session) this.sessions.delete(session.key);
  }

  /** Commits every open write session (shutdown). */
  async flushAll(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => s.close()));
  }

  // ---- helpers --------------------------------------------------------------------------

  /**
   * Resolves a path; if it names a file whose content is still on its way from a peer, waits
   * for it as long as its blocks keep arriving (up to CONTENT_WAIT_MAX_MS), and fails with
   * MARBLE_CONTENT_UNAVAILABLE (retry later) once none has arrived for contentWaitMs.
   */
  private async resolveWithContent(path: string): Promise<Target> {
    const start = Date.now();
    for (;;) {
      const target = this.resolve(path);
      if (target.kind !== 'file' || !target.head.pending) return target;
      const arrived = target.head.contentChange ? this.lastArrival(target.head.contentChange) : undefined;
      const deadline = Math.min(Math.max(start, arrived ?? 0) + this.contentWaitMs, start + CONTENT_WAIT_MAX_MS);
      const left = deadline - Date.now();
      if (left <= 0) throw ContentUnavailable(path);
      await this.store.nextCommit(Math.min(left, 250));
    }
  }

  /** Block hashes of what a head shows (for a head still being fetched: what it will be). */
  contentHashes(head: Head): Buffer {
    if (head.pending && head.contentChange) return this.store.contentPlan(head.contentChange)?.hashes ?? Buffer.alloc(0);
    return head.dataId !== null ? this.store.data(head.dataId)?.hashes ?? Buffer.alloc(0) : Buffer.alloc(0);
  }

  private resolve(path: string): Target {
    return this.tree.resolve(splitPath(path));
  }

  private entryFor(target: Target, path: string): Entry {
    switch (target.kind) {
      case 'dir':
        if (target.head) return this.tree.headEntry(target.head, target.tree, this.lastName(path));
        return target.tree.kind === 'main' ? this.tree.rootEntry(ROOT_NODE, '', false) : this.tree.rootEntry(`s:${target.tree.instanceId}`, this.lastName(path), true);
      case 'file':
        return this.tree.headEntry(target.link ?? target.head, target.tree, this.lastName(path));
      case 'splits':
        return this.tree.rootEntry('s:', '.splits', true);
      case 'history-dir':
        return target.head ? this.tree.historyEntry(target.head) : this.tree.rootEntry('h:root', '.history', true);
      case 'history-file':
        return this.tree.historyEntry(target.head);
      case 'version':
        return this.tree.versionEntry({ name: this.lastName(path), change: target.change, dataId: target.dataId });
    }
  }

  private lastName(path: string): string {
    const parts = splitPath(path);
    return parts[parts.length - 1] ?? '';
  }

  private virtualRootEntries(): Entry[] {
    return [this.tree.rootEntry('h:root', '.history', true), this.tree.rootEntry('s:', '.splits', true)];
  }

  private nodeIdOf(target: Target): string | null {
    if (target.kind === 'dir') return target.head?.nodeId ?? (target.tree.kind === 'main' ? ROOT_NODE : null);
    if (target.kind === 'file') return target.head.nodeId;
    return null;
  }

  /** The parent folder (in the main tree) and name a new entry at `path` would take. */
  private resolveForCreate(path: string): { dirId: string; name: string; existing: Head | undefined } {
    const parts = splitPath(path);
    if (!parts.length) throw Exists(path);
    const name = parts[parts.length - 1]!;
    checkName(name, path);
    if (parts.length === 1 && RESERVED_ROOT_NAMES.has(name)) throw ReadOnly(path);
    const parent = this.tree.resolve(parts.slice(0, -1));
    if (parent.kind !== 'dir') throw parent.kind === 'file' ? NotDir(path) : ReadOnly(path);
    if (parent.tree.kind !== 'main') throw ReadOnly(path);
    return { dirId: parent.dirId, name, existing: this.tree.child(MAIN, parent.merged, name) };
  }

  /** A file or folder of the main tree (not the root, nothing virtual). */
  private mainNode(path: string): Head {
    return this.mainNodes(path)[0]!;
  }

  /**
   * A file or folder of the main tree (not the root, nothing virtual); for a folder, also the
   * folders merged with it. A hard link path gives the file it shows, or with `asName` the
   * link node itself (what renaming or removing that name acts on).
   */
  private mainNodes(path: string, asName = false): Head[] {
    const target = this.resolve(path);
    if ((target.kind === 'dir' || target.kind === 'file') && target.tree.kind === 'main') {
      if (!target.head) throw ReadOnly(path);
      if (target.kind === 'file') return [(asName && target.link) || target.head];
      return [target.head, ...target.merged.slice(1).map((id) => this.anyHead(id)).filter((h): h is Head => !!h)];
    }
    throw ReadOnly(path);
  }

  /** What a name found in a folder shows: a hard link's target (undefined if it is gone), else the head itself. */
  private fileShown(h: Head | undefined): Head | undefined {
    return h?.linkTo != null ? this.tree.linkTarget(MAIN, h) : h;
  }

  /** The node's current head, a kept-visible deleted one included. */
  private anyHead(nodeId: string): Head | undefined {
    return this.currentHead(nodeId) ?? this.tree.choose(MAIN, this.store.headsOf(nodeId));
  }

  private mainFile(path: string): Head {
    const head = this.mainNode(path);
    if (head.isDir) throw IsDir(path);
    return head;
  }

  private checkWriteTarget(path: string, existing: Head | undefined, opts: WriteFileOptions): void {
    if (existing?.isDir) throw IsDir(path);
    if (opts.mode === 'create' && existing) throw Exists(path);
    if (opts.mode === 'replace' && !existing) throw NotFound(path);
    if (opts.ifContentTag !== undefined && (!existing || this.entryOf(existing).contentTag !== opts.ifContentTag)) throw Conflict(path);
  }

  /** A folder cannot move or copy into itself or below itself. */
  private checkNotInside(nodeId: string, destDirId: string, path: string): void {
    for (let dir = destDirId; dir !== ROOT_NODE; ) {
      if (dir === nodeId) throw InvalidMove(path);
      const parent = this.currentHead(dir);
      if (!parent) break;
      dir = parent.parentDir;
    }
  }

  /**
   * Delete changes for nodes and, for a folder, everything live below it (children first),
   * looking through deleted folders that live entries keep visible. A file that keeps hard
   * links outside what is deleted is kept (see keepLinkedFiles).
   */
  private deleteChanges(heads: readonly Head[]): LocalChange[] {
    const out: LocalChange[] = [];
    const visit = (h: Head) => {
      if (h.isDir) {
        for (let after = ''; ; ) {
          const rows = this.store.allHeadsInDir(h.nodeId, after, DEFAULT_PAGE);
          for (const child of rows) if (!child.deleted || (child.isDir && this.store.hasLiveChildren(child.nodeId)) || (child.isDir && this.store.deletedSubdirs(child.nodeId).length)) visit(child);
          if (rows.length < DEFAULT_PAGE) break;
          after = rows[rows.length - 1]!.name;
        }
      }
      if (!h.deleted) out.push({ kind: 'delete', head: h });
    };
    for (const h of heads) visit(h);
    return this.keepLinkedFiles(out);
  }

  /**
   * Removing a file's name while hard links to it remain keeps the file: the node moves to
   * its oldest remaining link's place and that link node goes, in the same commit, so peers
   * receive ordinary changes. Links deleted in the same batch do not count.
   */
  private keepLinkedFiles(changes: LocalChange[]): LocalChange[] {
    const going = new Set(changes.flatMap((c) => (c.kind === 'delete' ? [c.head.nodeId] : [])));
    return changes.flatMap((c): LocalChange[] => {
      if (c.kind !== 'delete' || c.head.isDir || c.head.linkTo !== null) return [c];
      const heir = this.store.linksTo(c.head.nodeId).find((l) => !going.has(l.nodeId));
      if (!heir) return [c];
      going.add(heir.nodeId);
      const twins = this.store.headsOf(heir.nodeId).filter((h) => h.changeId !== heir.changeId && !h.deleted);
      return [
        { kind: 'meta', head: c.head, meta: { ...c.head, name: heir.name, parentDir: heir.parentDir } },
        { kind: 'delete', head: heir, merges: twins },
      ];
    });
  }

  private copyTree(src: Head, dirId: string, name: string, depth: 0 | 'infinity'): Head {
    const meta: NodeMeta = { ...src, name, parentDir: dirId, mtimeNs: src.mtimeNs };
    const content = src.isDir || src.dataId === null ? undefined : { shareDataId: src.dataId };
    const [copy] = this.store.commit([{ kind: 'create', meta, content }]);
    this.store.copyProps(src.nodeId, copy!.nodeId);
    if (src.isDir && depth === 'infinity') this.copyChildren(src, copy!.nodeId, depth);
    return copy!;
  }

  private copyChildren(src: Head, intoDirId: string, depth: 0 | 'infinity'): void {
    for (let after = ''; ; ) {
      const rows = this.store.headsInDir(src.nodeId, after, DEFAULT_PAGE);
      for (const child of rows) {
        const file = this.fileShown(child); // a hard link is copied as an independent file
        if (file) this.copyTree(file, intoDirId, child.name, depth);
      }
      if (rows.length < DEFAULT_PAGE) break;
      after = rows[rows.length - 1]!.name;
    }
  }

  private newMeta(name: string, parentDir: string, isDir: boolean, mode: number, size: number): NodeMeta {
    return { name, parentDir, isDir, mode, mtimeNs: nowNs(), size, linkTo: null, symlink: false };
  }

  /** Commits; a failure (e.g. a full disk) leaves the tree as it was and drops the new blob. */
  private commit(path: string, changes: readonly LocalChange[], newBlob?: number): Head[] {
    try {
      return this.store.commit(changes);
    } catch (e) {
      if (newBlob !== undefined) this.store.discardBlob(newBlob);
      throw fromSystemError(e, path);
    }
  }

  private async guard<T>(path: string, fn: () => Promise<T>, newBlob: number): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      this.store.discardBlob(newBlob);
      if (e instanceof SizeMismatch) throw new FsError('MARBLE_CONFLICT', `${path}: ${e.message}; nothing was stored`);
      throw fromSystemError(e, path);
    }
  }
}

/** The file a head names: a hard link's target, else the node itself. */
function fileIdOf(h: Head): string {
  return h.linkTo ?? h.nodeId;
}

function isMainKey(key: string): boolean {
  return key === ROOT_NODE || !/^[hsv]:/.test(key);
}

/** A handle on a shared session: each user's close() commits, the last one ends it. */
function sharedHandle(session: FileWriteSession): WriteSession {
  let done = false;
  return {
    key: session.key,
    write: (p, d) => session.write(p, d),
    truncate: (n) => session.truncate(n),
    flush: () => session.flush(),
    close: async () => {
      if (done) return session.flush();
      done = true;
      return --session.users > 0 ? session.flush() : session.close();
    },
    abort: async () => {
      if (done) return;
      done = true;
      if (--session.users <= 0) await session.abort();
    },
  };
}

