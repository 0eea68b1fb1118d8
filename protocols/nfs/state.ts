import { randomBytes } from 'node:crypto';
import { FsError, isFsError } from '../../src/fs/errors.js';
import type { Entry, FileSystemView } from '../../src/fs/types.js';
import { CookieTable } from './cookies.js';
import { DuplicateRequestCache } from './drc.js';
import { NF3DIR, NF3LNK, NF3REG, NFS3, NFS_MAXNAMLEN, type NfsStat3 } from './constants.js';
import { invalid, nameTooLong, nfsStatusOf, staleHandle } from './errors.js';
import { fileIdOf, HandleCodec } from './handles.js';
import { ListedEntries, type EncodedEntry } from './listed-entries.js';
import { ListingPages } from './listing-pages.js';
import { ReadCache } from './reads.js';
import type { CallContext, RpcLogger } from './rpc/dispatcher.js';
import type { Fattr } from './wire.js';
import { WriteTable } from './writes.js';

/** Dead properties (view.patchProps) where NFS keeps what the tree has no field for. */
export const PROP = {
  /** atime set by SETATTR, in nanoseconds (the tree keeps no access time) */
  atime: '{urn:marble:nfs}atime',
  /** the verifier of an EXCLUSIVE CREATE, so its retransmission succeeds */
  createVerifier: '{urn:marble:nfs}create-verifier',
  /** on the root: format-2 file handle hash -> key */
  handlePrefix: '{urn:marble:nfs}fh-',
} as const;

/** Growth of a file (bytes) accepted without asking how much space is free. */
const GROWTH_WITHOUT_CHECK = 64 * 1024 * 1024;

/** Largest symbolic link target READLINK returns (POSIX PATH_MAX). */
export const MAX_SYMLINK = 4096;

/** One object a request names: its stable key, where it is now, and its committed state. */
export interface NfsObject {
  key: string;
  path: string;
  entry: Entry;
  fh: Buffer;
}

interface NfsMeta {
  atimeNs: bigint | undefined;
}

export interface NfsStateOptions {
  /** uncommitted writes become a change after this long without writes (default 1000 ms) */
  writeIdleMs?: number;
  /** idle read handles close after this long (default 2000 ms) */
  readIdleMs?: number;
  /** duplicate-request cache size (default 4096 replies) */
  drcEntries?: number;
}

/** 64-bit fsid of the one file system we export (stable: a constant, there is one tree). */
export const FSID = 0x6d61_7262_6c65n; // "marble"

/**
 * What every procedure shares: the view, file-handle codec, write sessions, cached
 * read handles, readdir cookies, the duplicate-request cache, the verifiers of this
 * server start, and the attribute mapping from Entry to fattr3.
 */
export class NfsState {
  /** changes on every start: clients resend UNSTABLE writes a COMMIT did not cover */
  readonly writeVerf = randomBytes(8);
  /** changes on every start: readdir cookies from before are unknown */
  readonly cookieVerf = randomBytes(8);
  readonly codec: HandleCodec;
  readonly writes: WriteTable;
  readonly reads: ReadCache;
  /** READDIRPLUS pages until anything they show may change (see ListingPages for what clears them) */
  readonly pages = new ListingPages();
  readonly cookies = new CookieTable(undefined, () => this.pages.clear());
  private readonly listed = new ListedEntries();
  private readonly stopWatchingCommits: () => void;
  readonly drc: DuplicateRequestCache;
  /** MOUNT's record of who mounted what, for DUMP: "address path" */
  readonly mounts = new Set<string>();
  private readonly meta = new Map<string, NfsMeta>();
  /** key -> the path it was last found at; always confirmed by a stat before use */
  private readonly paths = new Map<string, string>();

  constructor(
    readonly view: FileSystemView,
    readonly logger: RpcLogger,
    opts: NfsStateOptions = {},
  ) {
    this.codec = new HandleCodec({
      load: async (hash) => (await view.getProps('/')).get(PROP.handlePrefix + hash),
      save: (hash, key) => view.patchProps('/', new Map([[PROP.handlePrefix + hash, key]]), []),
    });
    this.writes = new WriteTable(view, {
      idleMs: opts.writeIdleMs ?? 1000,
      closeMs: 30_000,
      onCommitted: (key) => this.reads.invalidate(key),
      onOverlayChanged: () => this.pages.clear(),
      onError: (key, e) => this.logger.warn({ key, err: String(e) }, 'nfs: committing writes failed'),
    });
    this.reads = new ReadCache(view, opts.readIdleMs ?? 2000);
    this.stopWatchingCommits = view.onCommit(() => this.pages.clear());
    this.drc = new DuplicateRequestCache(opts.drcEntries ?? 4096);
  }

  /** The object a file handle names. @throws NfsError BADHANDLE (malformed) or STALE (gone). */
  async resolve(fh: Buffer): Promise<NfsObject> {
    const key = await this.codec.decode(fh);
    // Where the key was last seen: one stat confirms it (a rename elsewhere makes it miss).
    const seen = this.paths.get(key);
    if (seen !== undefined) {
      const entry = await this.view.stat(seen).catch(() => undefined);
      if (entry?.key === key) return { key, path: seen, entry, fh: Buffer.from(fh) };
      this.paths.delete(key);
    }
    let path: string;
    let entry: Entry;
    try {
      path = await this.view.pathOf(key);
      entry = await this.view.stat(path);
    } catch (e) {
      if (isFsError(e, 'MARBLE_NOT_FOUND')) throw staleHandle(key);
      throw e;
    }
    if (entry.key !== key) throw staleHandle(key);
    this.rememberPath(key, path);
    return { key, path, entry, fh: Buffer.from(fh) };
  }

  private rememberPath(key: string, path: string): void {
    this.paths.delete(key);
    this.paths.set(key, path);
    if (this.paths.size > 50_000) this.paths.delete(this.paths.keys().next().value!);
  }

  /** The object at `path` (after a LOOKUP or a create). */
  async at(path: string): Promise<NfsObject> {
    const entry = await this.view.stat(path);
    this.rememberPath(entry.key, path);
    return { key: entry.key, path, entry, fh: await this.codec.encode(entry.key) };
  }

  /** Re-reads an object's committed state. */
  async refresh(obj: NfsObject): Promise<NfsObject> {
    return { ...obj, entry: await this.view.stat(obj.path) };
  }

  /**
   * The path of `name` inside folder `dir`.
   * @throws NfsError NAMETOOLONG, INVAL (not UTF-8, '.', '..', '/', NUL), NOTDIR.
   */
  childPath(dir: NfsObject, name: Buffer): string {
    if (!dir.entry.isDir) throw new FsError('MARBLE_NOT_DIR', `${dir.path}: not a folder`);
    if (name.length > NFS_MAXNAMLEN) throw nameTooLong(name.length);
    const s = name.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(name)) throw invalid('name is not UTF-8');
    if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\0')) throw invalid(`invalid name ${JSON.stringify(s)}`);
    return joinPath(dir.path, s);
  }

  /**
   * Refuses to grow a file to `end` bytes when the growth exceeds the free space: a
   * write or SETATTR far past the end would otherwise make the view's write session
   * track and hash every block of the gap.
   * @throws FsError NO_SPACE
   */
  async checkGrowth(obj: NfsObject, end: number): Promise<void> {
    const size = this.writes.overlay(obj.key)?.size ?? obj.entry.size;
    if (end <= size + GROWTH_WITHOUT_CHECK) return;
    const { availableBytes } = await this.view.space();
    if (end - size > availableBytes) throw new FsError('MARBLE_NO_SPACE', `${obj.path}: growing to ${end} bytes needs more than the ${availableBytes} bytes free`);
  }

  /** fattr3 of an object as this caller sees it. */
  async attrs(obj: NfsObject, call: CallContext): Promise<Fattr> {
    const meta = await this.metaOf(obj.key, obj.path);
    return this.fattr(obj.entry, meta, call);
  }

  /** Post-operation attributes: best effort, never throws (post_op_attr may be absent). */
  async attrsAfter(obj: NfsObject, call: CallContext): Promise<Fattr | undefined> {
    try {
      return await this.attrs(await this.refresh(obj), call);
    } catch {
      return undefined;
    }
  }

  /** fattr3 for each entry of a listing, fetching the NFS properties of all in one go. */
  async attrsOfListing(entries: readonly Entry[], call: CallContext): Promise<Fattr[]> {
    const need = entries.filter((e) => !this.meta.has(e.key));
    if (need.length) {
      const props = await this.view.getPropsOf(need.map((e) => e.key));
      need.forEach((e, i) => this.remember(e.key, metaFrom(props[i]!)));
    }
    return entries.map((e) => this.fattr(e, this.meta.get(e.key) ?? { atimeNs: undefined }, call));
  }

  /** The READDIRPLUS encoding of `e` remembered for this caller, if it still holds. */
  encodedEntry(e: Entry, call: CallContext): EncodedEntry | undefined {
    const meta = this.listableMeta(e);
    if (!meta) return undefined;
    const { uid, gid } = idsOf(call);
    return this.listed.get(e, uid, gid, meta);
  }

  /** Remembers the encoding of `e` just made from {@link attrsOfListing}; not while it has uncommitted writes. */
  rememberEncoded(e: Entry, call: CallContext, encoded: EncodedEntry): void {
    const meta = this.listableMeta(e);
    if (!meta) return;
    const { uid, gid } = idsOf(call);
    this.listed.set(e, uid, gid, meta, encoded);
  }

  /**
   * The NFS properties an encoded listing entry of `e` was made from, or undefined when its
   * encoding cannot be remembered: properties not loaded, or uncommitted writes (their size
   * and time are not in the Entry).
   */
  private listableMeta(e: Entry): NfsMeta | undefined {
    const meta = this.meta.get(e.key);
    return meta && (e.isDir || !this.writes.overlay(e.key)) ? meta : undefined;
  }

  /** Records NFS properties we just wrote, so the cache stays right. */
  noteMeta(key: string, patch: Partial<NfsMeta>): void {
    const m = this.meta.get(key) ?? { atimeNs: undefined };
    this.remember(key, { ...m, ...patch });
    this.pages.clear();
  }

  /**
   * After a name of `key` was removed or replaced: forgets everything cached about it if
   * it is gone, but not while another name (a hard link) still shows it (its uncommitted
   * writes stay).
   */
  async forgetIfGone(key: string): Promise<void> {
    this.paths.delete(key);
    if (await this.view.pathOf(key).then(() => false, () => true)) this.forget(key);
  }

  /** Forgets everything cached about a removed object. */
  forget(key: string): void {
    this.pages.clear();
    this.meta.delete(key);
    this.paths.delete(key);
    this.reads.invalidate(key);
    this.writes.forget(key);
  }

  /**
   * The nfsstat3 to answer for an error; anything not a domain or protocol error is
   * logged and answered NFS3ERR_SERVERFAULT.
   */
  status(e: unknown, call: CallContext): NfsStat3 {
    const s = nfsStatusOf(e);
    if (s !== null) {
      this.logger.debug({ xid: call.xid, proc: call.proc, status: s, err: (e as Error).message }, 'nfs: error reply');
      return s;
    }
    this.logger.error({ xid: call.xid, proc: call.proc, err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'nfs: procedure failed');
    return NFS3.ERR_SERVERFAULT;
  }

  async close(): Promise<void> {
    this.stopWatchingCommits();
    await this.writes.closeAll();
    this.reads.closeAll();
  }

  private fattr(e: Entry, meta: NfsMeta, call: CallContext): Fattr {
    const over = e.isDir ? undefined : this.writes.overlay(e.key);
    const size = BigInt(over?.size ?? e.size);
    const mtimeNs = over?.mtimeNs ?? e.mtimeNs;
    const ctimeNs = over && over.mtimeNs > e.ctimeNs ? over.mtimeNs : e.ctimeNs;
    const ids = idsOf(call);
    let mode = e.mode & 0o7777;
    if (e.readOnly) mode &= ~0o222;
    return {
      type: e.isDir ? NF3DIR : e.symlink ? NF3LNK : NF3REG,
      mode,
      nlink: e.nlink,
      uid: ids.uid,
      gid: ids.gid,
      size,
      used: ((size + 4095n) / 4096n) * 4096n,
      fsid: FSID,
      fileid: fileIdOf(e.key),
      atimeNs: meta.atimeNs ?? mtimeNs,
      mtimeNs,
      ctimeNs,
    };
  }

  private async metaOf(key: string, path: string): Promise<NfsMeta> {
    const have = this.meta.get(key);
    if (have) return have;
    const meta = metaFrom(await this.view.getProps(path));
    this.remember(key, meta);
    return meta;
  }

  private remember(key: string, meta: NfsMeta): void {
    this.meta.delete(key);
    this.meta.set(key, meta);
    if (this.meta.size > 100_000) this.meta.delete(this.meta.keys().next().value!);
  }
}

/** The owner NFS reports: the caller's own ids under AUTH_SYS, nobody otherwise. */
export function idsOf(call: CallContext): { uid: number; gid: number } {
  return call.cred.kind === 'sys' ? call.cred : NOBODY;
}

const NOBODY = { uid: 65534, gid: 65534 } as const;

function metaFrom(props: Map<string, string>): NfsMeta {
  const atime = props.get(PROP.atime);
  return { atimeNs: atime && /^\d+$/.test(atime) ? BigInt(atime) : undefined };
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
