import type { Range } from './blocks.js';

/** A node's metadata after a change; what a head shows. */
export interface NodeMeta {
  readonly name: string;
  readonly parentDir: string;
  readonly isDir: boolean;
  readonly mode: number;
  readonly mtimeNs: bigint;
  readonly size: number;
  /** A hard link: the id of the file node this node is another name for (null: not a link). */
  readonly linkTo: string | null;
  /** A symbolic link: a file whose content is the target path. */
  readonly symlink: boolean;
}

export type ChangeKind = 'create' | 'write' | 'meta' | 'delete';

export interface Change {
  readonly id: string;
  readonly origin: string;
  readonly counter: number;
  readonly nodeId: string;
  /** The change this one modifies; null for a creation. */
  readonly parentId: string | null;
  readonly kind: ChangeKind;
  readonly meta: NodeMeta;
  /** Bytes written (write and create). */
  readonly ranges: readonly Range[];
  /** (uint32 BE block index, 32-byte hash) entries of every touched block. */
  readonly blockHashes: Buffer | null;
  /** Hybrid logical clock, in milliseconds since the epoch: orders changes across instances. */
  readonly hlc: number;
  /** Other heads of the node this change closes (resolving a split). */
  readonly merges: readonly string[];
}

export interface Head extends NodeMeta {
  readonly nodeId: string;
  readonly changeId: string;
  readonly origin: string;
  readonly deleted: boolean;
  /** The blob holding the content (files); null for folders and tombstones. */
  readonly dataId: number | null;
  readonly writable: boolean;
  readonly hlc: number;
  readonly birthHlc: number;
  /** The change whose content this head shows (null for folders and tombstones). */
  readonly contentChange: string | null;
  /** Content not here yet: it is being fetched from a peer, `dataId` is the base it builds on. */
  readonly pending: boolean;
}

export interface DataRow {
  readonly id: number;
  readonly changeId: string;
  readonly refs: number;
  readonly size: number;
  readonly hashes: Buffer;
}

export interface RetainedVersion {
  readonly nodeId: string;
  readonly changeId: string;
  readonly dataId: number;
  readonly hlc: number;
}

/** Content freshly written to blob `dataId` for a local change. */
export interface NewContent {
  readonly dataId: number;
  readonly size: number;
  readonly hashes: Buffer;
  /** Block indices that differ from the parent version (all blocks for a new file). */
  readonly touched: readonly number[];
  /** The content itself when it is resident (RESIDENT_MAX): then blob `dataId` has no file. */
  readonly resident?: Buffer;
}

/** A modification made on this instance, with its content already durable in a blob (or resident). */
export type LocalChange =
  | { readonly kind: 'create'; readonly nodeId?: string; readonly meta: NodeMeta; readonly content?: NewContent | { readonly shareDataId: number } }
  | { readonly kind: 'write'; readonly head: Head; readonly meta: NodeMeta; readonly content: NewContent }
  | { readonly kind: 'meta'; readonly head: Head; readonly meta: NodeMeta; readonly merges?: readonly Head[] }
  | { readonly kind: 'delete'; readonly head: Head; readonly merges?: readonly Head[] };

/** A change whose content this instance still has to fetch. */
export interface Missing {
  readonly changeId: string;
  readonly nodeId: string;
  /** The content change the fetched ranges apply to, and its blob (null: build from nothing). */
  readonly baseChangeId: string | null;
  readonly baseDataId: number | null;
}

export const NS_PER_MS = 1_000_000n;
export const NS_PER_S = 1_000_000_000n;

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}
