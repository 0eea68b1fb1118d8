import type { Readable } from 'node:stream';

/**
 * The filesystem view: the one interface every front end (WebDAV, NFS, FUSE) calls.
 *
 * Paths are '/'-separated, absolute ('/' is the root), already percent-decoded by the
 * protocol. A path segment that is empty, '.', '..', or contains '/' or NUL is rejected
 * with MARBLE_INVALID_NAME, so nothing outside the tree can ever be named.
 *
 * The tree holds the main view plus two read-mostly virtual folders at the root:
 *   /.history/<path>/   one folder per file, one read-only entry per stored version
 *   /.splits/<instance>/<path>   the tree as each instance's split heads make it
 *
 * Every method may throw an FsError (see errors.ts); anything else is a bug or an
 * operating-system failure and the caller reports it as an internal error.
 */
export interface Entry {
  /** Stable identity of what the path names: a node id in the main tree, or a virtual key. */
  readonly key: string;
  readonly name: string;
  readonly isDir: boolean;
  readonly size: number;
  /** Permission bits (e.g. 0o644). */
  readonly mode: number;
  readonly mtimeNs: bigint;
  /** Time of the last committed change to this node (content or metadata). */
  readonly ctimeNs: bigint;
  readonly birthNs: bigint;
  /** Changes whenever the content changes, never repeats for one instance (ETag source). */
  readonly contentTag: string;
  /** Changes whenever content or metadata change. */
  readonly versionTag: string;
  readonly readOnly: boolean;
  /** Names the entry has: a file's own plus its hard links; 2 for a folder (its name and '.'). */
  readonly nlink: number;
  /** A symbolic link: a file whose content is the target path. */
  readonly symlink: boolean;
}

export interface ListPage {
  readonly entries: Entry[];
  /** Opaque; pass back to get the next page. Null when the listing is complete. */
  readonly cursor: string | null;
}

export interface ReadHandle {
  readonly entry: Entry;
  /**
   * The open file holding the content, where it is one (a blob, not resident content), for
   * sending it without a copy (sendfile); valid until close(). Never written through.
   */
  readonly fd?: number;
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; returns bytes read (0 at end). */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** A stream of bytes [start, endInclusive]; the handle must stay open until it ends. */
  stream(start?: number, endInclusive?: number): Readable;
  /** Releases the read hold. Idempotent. */
  close(): Promise<void>;
}

/**
 * Random-access writes to one file, coalesced into one change. Writes are visible to
 * readers of this instance only once committed (flush/close, or after the idle timeout).
 */
export interface WriteSession {
  readonly key: string;
  /**
   * Resolves once the write is taken; the bytes may land later (the caller leaves `data`
   * unchanged). A write that fails to land makes the next flush/close throw and drop the
   * writes not yet committed.
   */
  write(position: number, data: Buffer): Promise<void>;
  truncate(size: number): Promise<void>;
  /** Commits what was written so far as one change (nothing if nothing changed). */
  flush(): Promise<Entry>;
  /** Commits and ends the session. Idempotent. */
  close(): Promise<Entry>;
  /** Ends the session without committing anything. */
  abort(): Promise<void>;
}

export interface WriteFileOptions {
  /** 'create': fail with MARBLE_EXISTS if the path exists; 'replace': fail with NOT_FOUND if not; default either. */
  readonly mode?: 'create' | 'replace' | 'either';
  /** Fail with MARBLE_CONFLICT unless the current contentTag equals this. */
  readonly ifContentTag?: string;
  /** Bytes expected, if known (Content-Length): a body that ends early is rejected and nothing is committed. */
  readonly expectedSize?: number;
}

export interface MoveOptions {
  /** Replace an existing target (POSIX rename semantics). Default false: MARBLE_EXISTS. */
  readonly overwrite?: boolean;
}

export interface CopyOptions extends MoveOptions {
  /** For folders: 0 copies the folder alone, 'infinity' (default) the whole subtree. */
  readonly depth?: 0 | 'infinity';
}

export interface SpaceInfo {
  readonly usedBytes: number;
  readonly availableBytes: number;
}

export interface FileSystemView {
  stat(path: string): Promise<Entry>;
  /** Children of a folder in a stable order, paginated. */
  list(path: string, opts?: { cursor?: string | null; limit?: number }): Promise<ListPage>;
  mkdir(path: string, opts?: { mode?: number }): Promise<Entry>;
  /** An empty file; with exclusive, MARBLE_EXISTS if the name is taken. Otherwise returns the existing file. */
  createFile(path: string, opts?: { exclusive?: boolean; mode?: number }): Promise<Entry>;
  openRead(path: string): Promise<ReadHandle>;
  /** Makes everything committed so far durable on disk (survives a power loss), for NFS COMMIT. */
  syncCommitted(): Promise<void>;
  /**
   * Replaces (or creates) a whole file from a stream, as one change; only blocks that differ
   * from the previous version are recorded as written. Streams: never holds the file in memory.
   */
  writeFile(path: string, body: AsyncIterable<Buffer>, opts?: WriteFileOptions): Promise<{ entry: Entry; created: boolean }>;
  openWrite(path: string): Promise<WriteSession>;
  truncate(path: string, size: number): Promise<Entry>;
  /**
   * A symbolic link at `path` (MARBLE_EXISTS if the name is taken) whose content is `target`;
   * reading it reads the target path, nothing follows it.
   */
  symlink(path: string, target: Buffer, opts?: { mode?: number }): Promise<Entry>;
  /**
   * A hard link: `to` becomes another name of the file at `from`. Both names show one
   * entry (same key, content and attributes) until either is removed or renamed; removing
   * one keeps the file under the others. Returns the file's entry as `to` names it.
   * MARBLE_IS_DIR for a folder, MARBLE_EXISTS if `to` is taken, MARBLE_READ_ONLY outside the main tree.
   */
  link(from: string, to: string): Promise<Entry>;
  rename(from: string, to: string, opts?: MoveOptions): Promise<{ entry: Entry; replaced: boolean }>;
  copy(from: string, to: string, opts?: CopyOptions): Promise<{ entry: Entry; replaced: boolean }>;
  /** Deletes a file, or a folder (MARBLE_NOT_EMPTY unless recursive). Versions stay in history. */
  remove(path: string, opts?: { recursive?: boolean }): Promise<void>;
  setMeta(path: string, meta: { mtimeNs?: bigint; mode?: number }): Promise<Entry>;
  /** Dead properties (WebDAV) / extended attributes: name -> value, kept with the node. */
  getProps(path: string): Promise<Map<string, string>>;
  /** Dead properties of many entries at once (by Entry.key, as list() returned them), in order. */
  getPropsOf(keys: readonly string[]): Promise<Array<Map<string, string>>>;
  /** Applies all sets and removals at once, or none. */
  patchProps(path: string, set: ReadonlyMap<string, string>, remove: readonly string[]): Promise<void>;
  space(): Promise<SpaceInfo>;
  /**
   * The current path of what `key` (an Entry.key) names, wherever it was moved since.
   * MARBLE_NOT_FOUND once it is deleted. Lets handle-based protocols (NFS) keep stable handles.
   */
  pathOf(key: string): Promise<string>;
  /**
   * Calls `listener` after every commit (local, received from a peer, or content arriving):
   * what the view shows may have changed. Returns what stops that.
   */
  onCommit(listener: () => void): () => void;
}
