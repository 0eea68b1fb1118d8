import type { Change, Head } from '../core/model.js';
import { NS_PER_MS } from '../core/model.js';
import { ROOT_NODE } from '../core/ids.js';
import { rankBefore, type Store } from '../core/store.js';
import { NotDir, NotFound } from './errors.js';
import { HISTORY_DIR, SPLITS_DIR } from './paths.js';
import type { Entry } from './types.js';
import { parseSameNameAlias, sameNameAlias } from './same-name-alias.js';
import { versionName } from './version-names.js';

/**
 * What a path names. The main tree and each split tree are the same heads seen with a
 * different preferred instance; history is every node, deleted ones too, with one
 * read-only entry per content version.
 */
export type Target =
  | {
      readonly kind: 'dir';
      /** Where new entries go. */
      readonly dirId: string;
      /** Folders of the same name in the same place are shown as one: all of them, dirId first. */
      readonly merged: readonly string[];
      readonly head: Head | null;
      readonly tree: TreeKind;
    }
  | {
      readonly kind: 'file';
      /** The file shown: for a hard link, its target's head (content and attributes come from there). */
      readonly head: Head;
      /** The hard link node the path names, if it names one (renames and removals act on it). */
      readonly link: Head | null;
      readonly tree: TreeKind;
    }
  | { readonly kind: 'splits' }
  | { readonly kind: 'history-dir'; readonly dirId: string; readonly head: Head | null }
  | { readonly kind: 'history-file'; readonly head: Head }
  | { readonly kind: 'version'; readonly head: Head; readonly change: Change; readonly dataId: number | null };

/** main: this instance's view, writable. split: one instance's heads, read-only. */
export type TreeKind = { readonly kind: 'main' } | { readonly kind: 'split'; readonly instanceId: string };

export const MAIN: TreeKind = { kind: 'main' };

/** A head as a listing shows it: under its own name or a split tree's alias. */
export interface Shown {
  readonly head: Head;
  readonly name: string;
}

const CACHE_LIMIT = 4096;

export class Tree {
  private readonly instanceShort: string;
  private readonly startNs = BigInt(Date.now()) * NS_PER_MS;

  /** Resolved paths until the next commit: a request resolves its path several times. */
  private readonly cache = new Map<string, Target>();
  /** Whether a deleted folder still holds live entries, until the next commit. */
  private readonly liveBelow = new Map<string, boolean>();

  constructor(private readonly store: Store) {
    this.instanceShort = store.instanceId.slice(0, 8);
    store.onCommit(() => {
      this.cache.clear();
      this.liveBelow.clear();
    });
  }

  /** Resolves validated path segments. Throws NotFound / NotDir. */
  resolve(parts: readonly string[]): Target {
    const key = parts.join('/');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const target = this.resolveUncached(parts);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, target);
    return target;
  }

  private resolveUncached(parts: readonly string[]): Target {
    if (parts[0] === HISTORY_DIR) return this.resolveHistory(parts.slice(1), parts);
    if (parts[0] === SPLITS_DIR) {
      if (parts.length === 1) return { kind: 'splits' };
      const instanceId = this.splitInstanceNamed(parts[1]!);
      if (!instanceId) throw NotFound('/' + parts.join('/'));
      return this.walk({ kind: 'split', instanceId }, parts.slice(2), parts);
    }
    return this.walk(MAIN, parts, parts);
  }

  private walk(tree: TreeKind, rel: readonly string[], full: readonly string[]): Target {
    let dirs: readonly string[] = [ROOT_NODE];
    let head: Head | null = null;
    for (let i = 0; i < rel.length; i++) {
      if (head && !head.isDir) throw NotDir('/' + full.join('/'));
      const next = this.lookup(tree, dirs, rel[i]!);
      if (!next) throw NotFound('/' + full.join('/'));
      head = next.head;
      dirs = next.dirs;
    }
    if (head && head.linkTo !== null) return { kind: 'file', head: this.linkTarget(tree, head)!, link: head, tree };
    if (head && !head.isDir) return { kind: 'file', head, link: null, tree };
    return { kind: 'dir', dirId: dirs[0]!, merged: dirs, head, tree };
  }

  /** The child named `name` in a (possibly merged) folder as the tree shows it, and, for a folder, all the folders merged under that name. */
  private lookup(tree: TreeKind, dirs: readonly string[], name: string): { head: Head; dirs: string[] } | undefined {
    const candidates = this.candidates(tree, dirs, name);
    if (candidates.length) {
      const head = this.choose(tree, candidates)!;
      if (!head.isDir) return { head, dirs: [] };
      const others = candidates.filter((h) => h.isDir && h.nodeId !== head.nodeId);
      return { head, dirs: [...new Set([head.nodeId, ...others.sort((a, b) => (rankBefore(a, b) ? -1 : 1)).map((h) => h.nodeId)])] };
    }
    const alias = tree.kind === 'split' ? parseSameNameAlias(name) : null;
    if (!alias) return undefined;
    const group = this.candidates(tree, dirs, alias.name);
    const head = this.aliased(tree, group).find((h) => alias.matches(h.nodeId));
    return head && { head, dirs: head.isDir ? [head.nodeId] : [] };
  }

  private candidates(tree: TreeKind, dirs: readonly string[], name: string): Head[] {
    return dirs.flatMap((d) => this.store.headsNamed(d, name)).filter((h) => this.visible(h) && this.isShown(tree, h));
  }

  /**
   * Heads of one name in one (merged) folder that the tree's ranking hides although nothing
   * else shows them either: same-named nodes of the split tree's own instance. The split tree
   * shows them under an alias (see same-name-alias.ts); the main tree shows only the first.
   */
  private aliased(tree: TreeKind, group: readonly Head[]): Head[] {
    if (tree.kind !== 'split' || group.length < 2) return [];
    const first = this.choose(tree, group)!;
    return group.filter((h) => h !== first && h.origin === tree.instanceId && !(first.isDir && h.isDir));
  }

  /** The child named `name` in a folder (or folders shown as one), as the given tree shows it. */
  child(tree: TreeKind, dirs: string | readonly string[], name: string): Head | undefined {
    return this.lookup(tree, typeof dirs === 'string' ? [dirs] : dirs, name)?.head;
  }

  /**
   * The file a hard link shows in `tree`: its target's head there; undefined once the
   * target is deleted (or if a peer linked to something that is not a plain file).
   */
  linkTarget(tree: TreeKind, link: Head): Head | undefined {
    const live = this.store.headsOf(link.linkTo!).filter((h) => !h.deleted && !h.isDir && h.linkTo === null);
    return live.length <= 1 ? live[0] : this.choose(tree, live);
  }

  /**
   * Live heads are visible; so is a deleted folder that still holds live entries at any
   * depth (a file created in it concurrently with the delete keeps it visible, DESIGN §5).
   */
  private visible(h: Head): boolean {
    if (h.linkTo !== null) return !h.deleted && this.linkTarget(MAIN, h) !== undefined;
    return !h.deleted || (h.isDir && this.holdsLive(h.nodeId, 0));
  }

  private holdsLive(dirId: string, depth: number): boolean {
    const known = this.liveBelow.get(dirId);
    if (known !== undefined) return known;
    const live = depth < 256 && (this.store.hasLiveChildren(dirId) || this.store.deletedSubdirs(dirId).some((d) => this.holdsLive(d, depth + 1)));
    this.liveBelow.set(dirId, live);
    return live;
  }

  /**
   * Live children of a folder (or folders shown as one), one per name (plus a split tree's
   * aliases), ordered by name, each with the name it is shown under; paginated by name.
   */
  children(tree: TreeKind, dirs: string | readonly string[], afterName: string, limit: number): { shown: Shown[]; lastName: string | null } {
    const list = typeof dirs === 'string' ? [dirs] : dirs;
    let rows: Head[] = [];
    let lastName: string | null = null;
    for (const d of list) {
      const page = this.store.allHeadsInDir(d, afterName, limit);
      rows.push(...page);
      // A folder that filled its page may hold more names: the merged page ends at its last one.
      if (page.length === limit) {
        const last = page[page.length - 1]!.name;
        if (lastName === null || last < lastName) lastName = last;
      }
    }
    if (list.length > 1) {
      const boundary = lastName;
      rows = rows.filter((h) => boundary === null || h.name <= boundary).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    const shown: Shown[] = [];
    for (let i = 0; i < rows.length; ) {
      let j = i + 1;
      while (j < rows.length && rows[j]!.name === rows[i]!.name) j++;
      const same = rows.slice(i, j).filter((h) => this.visible(h) && this.isShown(tree, h));
      const pick = same.length <= 1 ? same[0] : this.choose(tree, same);
      if (pick) shown.push({ head: pick, name: pick.name });
      for (const h of this.aliased(tree, same)) shown.push({ head: h, name: sameNameAlias(h.name, h.nodeId) });
      i = j;
    }
    return { shown, lastName };
  }

  /** A node with several heads is shown only where its chosen head is. */
  private isShown(tree: TreeKind, h: Head): boolean {
    if (!this.store.isSplit(h.nodeId)) return true;
    const heads = this.store.headsOf(h.nodeId);
    const visible = heads.filter((x) => this.visible(x));
    return this.choose(tree, visible.length ? visible : heads)?.changeId === h.changeId;
  }

  /**
   * Deterministic ranking, the same on every instance: live before deleted, the preferred
   * instance's own head first, then newest by hybrid logical clock, ties by instance id.
   */
  choose(tree: TreeKind, heads: readonly Head[]): Head | undefined {
    const prefer = tree.kind === 'main' ? this.store.instanceId : tree.instanceId;
    return [...heads].sort(
      (a, b) =>
        Number(a.deleted) - Number(b.deleted) ||
        Number(b.origin === prefer) - Number(a.origin === prefer) ||
        b.hlc - a.hlc ||
        (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0),
    )[0];
  }

  /** Instances that have a head in some split (or a name collision), by the name shown under /.splits/. */
  splitInstances(): Map<string, string> {
    const origins = new Set<string>(this.store.collisionOrigins());
    for (const nodeId of this.store.splitNodeIds()) for (const h of this.store.headsOf(nodeId)) origins.add(h.origin);
    const byName = new Map<string, string>();
    const names = [...origins].map((id) => ({ id, name: this.store.instanceNameOf(id) }));
    for (const { id, name } of names) {
      const clash = names.some((o) => o.id !== id && o.name === name);
      byName.set(clash ? `${name}-${id.slice(0, 6)}` : name, id);
    }
    return byName;
  }

  private splitInstanceNamed(name: string): string | undefined {
    return this.splitInstances().get(name);
  }

  /** Path segments of a node in a tree (history: deleted nodes too), or undefined if not shown there. */
  segmentsOf(nodeId: string, tree: TreeKind | 'history'): string[] | undefined {
    const parts: string[] = [];
    const nodes: string[] = [];
    for (let id = nodeId, depth = 0; id !== ROOT_NODE; depth++) {
      const heads = this.store.headsOf(id);
      const head = tree === 'history' ? this.choose(MAIN, heads) : this.choose(tree, heads.filter((h) => !h.deleted));
      if (!head || depth > 4096) return undefined;
      parts.unshift(head.name);
      nodes.unshift(id);
      id = head.parentDir;
    }
    return tree !== 'history' && tree.kind === 'split' ? this.withAliases(tree, nodes, parts) : parts;
  }

  /** `parts` with each node a split tree shows under an alias named by it; undefined if one is not shown. */
  private withAliases(tree: TreeKind, nodes: readonly string[], parts: readonly string[]): string[] | undefined {
    let dirs: readonly string[] = [ROOT_NODE];
    const out: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      let name = parts[i]!;
      let next = this.lookup(tree, dirs, name);
      if (next && next.head.nodeId !== nodes[i] && !next.dirs.includes(nodes[i]!)) {
        name = sameNameAlias(name, nodes[i]!);
        next = this.lookup(tree, dirs, name);
      }
      if (!next) return undefined;
      out.push(name);
      dirs = next.dirs;
    }
    return out;
  }

  // ---- history ----------------------------------------------------------------------

  private resolveHistory(rel: readonly string[], full: readonly string[]): Target {
    let dirId = ROOT_NODE;
    let head: Head | null = null;
    for (let i = 0; i < rel.length; i++) {
      const seg = rel[i]!;
      if (head && !head.isDir) {
        if (i !== rel.length - 1) throw NotDir('/' + full.join('/'));
        const version = this.versions(head).find((v) => v.name === seg);
        if (!version) throw NotFound('/' + full.join('/'));
        return { kind: 'version', head, change: version.change, dataId: version.dataId };
      }
      const next = this.historyChild(dirId, seg);
      if (!next) throw NotFound('/' + full.join('/'));
      head = next;
      dirId = next.nodeId;
    }
    if (head && !head.isDir) return { kind: 'history-file', head };
    return { kind: 'history-dir', dirId, head };
  }

  /** A child by name in history: the live one if any, else the most recently deleted. */
  private historyChild(dirId: string, name: string): Head | undefined {
    const all = this.store.headsNamed(dirId, name).filter((h) => h.linkTo === null);
    return this.choose(MAIN, all);
  }

  historyChildren(dirId: string, afterName: string, limit: number): { heads: Head[]; lastName: string | null } {
    const rows = this.store.allHeadsInDir(dirId, afterName, limit);
    const heads: Head[] = [];
    for (let i = 0; i < rows.length; ) {
      let j = i + 1;
      while (j < rows.length && rows[j]!.name === rows[i]!.name) j++;
      // A hard link has no versions of its own: its target's are under the target's path.
      const files = rows.slice(i, j).filter((h) => h.linkTo === null);
      if (files.length) heads.push(this.choose(MAIN, files)!);
      i = j;
    }
    return { heads, lastName: rows.length === limit ? rows[rows.length - 1]!.name : null };
  }

  /** Content versions of a file, oldest first, with the blob still holding each (or null). */
  versions(head: Head): Array<{ name: string; change: Change; dataId: number | null }> {
    const kept = new Map(this.store.retainedOf(head.nodeId).map((r) => [r.changeId, r.dataId]));
    const changes = this.store.contentChangesOf(head.nodeId);
    const latest = changes[changes.length - 1];
    return changes.map((change) => ({
      name: versionName(change, this.store.instanceNameOf(change.origin)),
      change,
      dataId: kept.get(change.id) ?? (change === latest && !head.deleted ? head.dataId : null),
    }));
  }

  // ---- entries --------------------------------------------------------------------------

  rootEntry(key: string, name: string, readOnly: boolean): Entry {
    const t = BigInt(Math.max(this.store.dirTime(ROOT_NODE), 0)) * NS_PER_MS || this.startNs;
    return dirEntry(key, name, t, t, this.startNs, `${key}.${t}`, readOnly);
  }

  /**
   * The entry of a head as `tree` shows it, under `name` (an alias in a split tree); a hard
   * link shows its target.
   */
  headEntry(h: Head, tree: TreeKind, name = h.name): Entry {
    const readOnly = tree.kind !== 'main';
    const shown = h.linkTo === null ? h : this.linkTarget(tree, h);
    if (!shown) throw NotFound(name);
    const key = tree.kind === 'main' ? shown.nodeId : `s:${tree.instanceId}:${shown.nodeId}`;
    return this.entryOf(shown, key, name, readOnly);
  }

  historyEntry(h: Head): Entry {
    const e = this.entryOf(h, `h:${h.nodeId}`, h.name, true);
    return e.isDir ? e : { ...e, isDir: true, size: 0, contentTag: e.versionTag };
  }

  versionEntry(v: { name: string; change: Change; dataId: number | null }): Entry {
    const m = v.change.meta;
    return {
      key: `v:${v.change.id}`,
      name: v.name,
      isDir: false,
      size: m.size,
      mode: m.mode & ~0o222,
      mtimeNs: m.mtimeNs,
      ctimeNs: BigInt(v.change.hlc) * NS_PER_MS,
      birthNs: BigInt(v.change.hlc) * NS_PER_MS,
      contentTag: `v.${v.change.id}`,
      versionTag: `v.${v.change.id}`,
      readOnly: true,
      nlink: 1,
      symlink: m.symlink,
    };
  }

  private entryOf(h: Head, key: string, name: string, readOnly: boolean): Entry {
    const ctimeNs = BigInt(h.hlc) * NS_PER_MS;
    if (h.isDir) {
      const touched = BigInt(this.store.dirTime(h.nodeId)) * NS_PER_MS;
      const mtime = touched > h.mtimeNs ? touched : h.mtimeNs;
      return dirEntry(key, name, mtime, ctimeNs > touched ? ctimeNs : touched, BigInt(h.birthHlc) * NS_PER_MS, `${h.changeId}.${touched}`, readOnly, h.mode);
    }
    return {
      key,
      name,
      isDir: false,
      size: h.size,
      mode: h.mode,
      mtimeNs: h.mtimeNs,
      ctimeNs,
      birthNs: BigInt(h.birthHlc) * NS_PER_MS,
      // The change that wrote the content: the same on every instance, kept by metadata-only
      // changes, and already final while the content is still on its way from a peer.
      contentTag: h.contentChange ?? `${this.instanceShort}.${h.dataId}`,
      versionTag: h.changeId,
      readOnly,
      nlink: 1 + this.store.linkCount(h.nodeId),
      symlink: h.symlink,
    };
  }
}

function dirEntry(key: string, name: string, mtimeNs: bigint, ctimeNs: bigint, birthNs: bigint, tag: string, readOnly: boolean, mode = 0o755): Entry {
  return { key, name, isDir: true, size: 0, mode, mtimeNs, ctimeNs, birthNs, contentTag: tag, versionTag: tag, readOnly, nlink: 2, symlink: false };
}
