import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { blockCount, HASH_SIZE } from '../core/blocks.js';
import { isSecret } from './invites.js';
import { ROOT_NODE } from '../core/ids.js';
import type { Change, ChangeKind } from '../core/model.js';
import { checkName } from '../fs/paths.js';

/**
 * The peer protocol's messages and their conversion at the edge (STYLE principle 1):
 * JSON text frames for control, binary frames for content blocks and for changes (which
 * carry small content with them; see ChangesFrames). Everything read from a peer is
 * validated here, with every length bounded, before anything uses it.
 */
/** 2: changes carry hard links (`link`) and symbolic links (`symlink`); a version 1 peer would take a link for an empty file. 3: changes travel in binary frames, small content as raw bytes beside them. */
export const PROTOCOL_VERSION = 3;
/** Largest WebSocket message accepted from a peer. */
export const MAX_FRAME = 16 * 1024 * 1024;
/** Content of a change up to this size travels inline with the change. */
export const INLINE_MAX = 64 * 1024;
const MAX_CHANGES_PER_FRAME = 4096;
const MAX_BLOCKS_PER_WANT = 256;
const MAX_NAME = 255;
const MAX_SIZE = 2 ** 50;

export interface WireInstance {
  readonly id: string;
  readonly name: string;
  readonly key: string | null;
}

export type Message =
  | { t: 'hello'; v: number; id: string; name: string; key: string; nonce: string; invite?: string }
  | { t: 'auth'; sig: string }
  | { t: 'state'; vector: Record<string, number>; instances: WireInstance[]; connected: string[] }
  | { t: 'changes'; list: WireChange[]; instances?: WireInstance[] }
  | { t: 'want'; req: number; change: string; blocks: number[] }
  | { t: 'done'; req: number }
  | { t: 'nothave'; req: number }
  | { t: 'have'; change: string };

export interface WireChange {
  readonly id: string;
  readonly node: string;
  readonly parent: string | null;
  readonly kind: ChangeKind;
  readonly name: string;
  readonly dir: string;
  readonly isDir: boolean;
  readonly mode: number;
  readonly mtime: string;
  readonly size: number;
  readonly ranges: Array<[number, number]>;
  readonly hashes: string | null;
  readonly hlc: number;
  readonly merges?: string[];
  /** A hard link: the file node it names. */
  readonly link?: string;
  readonly symlink?: true;
  /** 1: the change's content follows the JSON in its changes frame (see ChangesFrames). */
  readonly inline?: 1;
}

/** A peer sent something the protocol does not allow; `code` is the WebSocket close code. */
export class ProtocolError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly code = 4400,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const CHANGE_ID = new RegExp(`^(${UUID}):([1-9][0-9]{0,14})$`);
const INSTANCE_ID = new RegExp(`^${UUID}$`);

export function toWire(c: Change, inline = false): WireChange {
  return {
    id: c.id,
    node: c.nodeId,
    parent: c.parentId,
    kind: c.kind,
    name: c.meta.name,
    dir: c.meta.parentDir,
    isDir: c.meta.isDir,
    mode: c.meta.mode,
    mtime: c.meta.mtimeNs.toString(),
    size: c.meta.size,
    ranges: c.ranges.map((r) => [r.offset, r.length]),
    hashes: c.blockHashes ? c.blockHashes.toString('base64') : null,
    hlc: c.hlc,
    ...(c.merges.length ? { merges: [...c.merges] } : {}),
    ...(c.meta.linkTo !== null ? { link: c.meta.linkTo } : {}),
    ...(c.meta.symlink ? { symlink: true as const } : {}),
    ...(inline ? { inline: 1 } : {}),
  };
}

/**
 * Validates a change from a peer. `inline` is the content its frame carried for it (only a
 * binary changes frame carries content, and only for changes flagged `inline`).
 */
export function fromWire(w: unknown, inline: Buffer | null = null): { change: Change; inline: Buffer | null } {
  const o = object(w, 'change');
  const id = str(o.id, 'change.id', 80);
  const m = CHANGE_ID.exec(id);
  if (!m) throw bad(`malformed change id ${JSON.stringify(id)}`);
  const kind = str(o.kind, 'change.kind', 8) as ChangeKind;
  if (!['create', 'write', 'meta', 'delete'].includes(kind)) throw bad(`unknown change kind ${kind}`);
  const node = nodeId(o.node, 'change.node', false);
  const parent = o.parent === null ? null : changeId(o.parent, 'change.parent');
  if ((kind === 'create') !== (parent === null)) throw bad(`change ${id}: a creation, and only a creation, has no parent`);
  const name = str(o.name, 'change.name', MAX_NAME * 4);
  try {
    checkName(name);
  } catch {
    throw bad(`change ${id}: invalid name ${JSON.stringify(name)}`);
  }
  const size = int(o.size, 'change.size', 0, MAX_SIZE);
  const isDir = bool(o.isDir, 'change.isDir');
  const hashes = o.hashes === null || o.hashes === undefined ? null : base64(o.hashes, 'change.hashes', (blockCount(size) * (4 + HASH_SIZE) * 4) / 3 + 8);
  if (hashes && hashes.length % (4 + HASH_SIZE)) throw bad(`change ${id}: block hash list has a partial entry`);
  const blocks = blockCount(size);
  for (let at = 0; hashes && at < hashes.length; at += 4 + HASH_SIZE) {
    if (hashes.readUInt32BE(at) >= blocks) throw bad(`change ${id}: block hash for a block past the end`);
  }
  const rangesRaw = array(o.ranges, 'change.ranges', blocks + 1);
  const ranges = rangesRaw.map((r) => {
    const pair = array(r, 'change.ranges[]', 2);
    const offset = int(pair[0], 'range offset', 0, MAX_SIZE);
    const length = int(pair[1], 'range length', 0, MAX_SIZE);
    if (offset + length > size) throw bad(`change ${id}: range past the end`);
    return { offset, length };
  });
  const merges = o.merges === undefined ? [] : array(o.merges, 'change.merges', 64).map((x) => changeId(x, 'change.merges[]'));
  if ((o.inline === 1) !== (inline !== null)) throw bad(`change ${id}: inline content only travels in a binary changes frame, flagged inline: 1`);
  if (inline && inline.length !== size) throw bad(`change ${id}: inline content has ${inline.length} bytes, size says ${size}`);
  const mtime = str(o.mtime, 'change.mtime', 24);
  if (!/^-?[0-9]{1,21}$/.test(mtime)) throw bad(`change ${id}: malformed mtime`);
  const linkTo = o.link === undefined ? null : nodeId(o.link, 'change.link', false);
  const symlink = o.symlink === undefined ? false : bool(o.symlink, 'change.symlink');
  // A hard link has no content of its own (it shows its target's) and names a file, never itself.
  if (linkTo !== null && (isDir || symlink || size || ranges.length || hashes || inline || kind === 'write' || linkTo === node)) {
    throw bad(`change ${id}: a hard link is an empty, unwritten file node naming another node`);
  }
  if (symlink && isDir) throw bad(`change ${id}: a folder cannot be a symbolic link`);
  const change: Change = {
    id,
    origin: m[1]!,
    counter: Number(m[2]),
    nodeId: node,
    parentId: parent,
    kind,
    meta: { name, parentDir: nodeId(o.dir, 'change.dir', true), isDir, mode: int(o.mode, 'change.mode', 0, 0o7777), mtimeNs: BigInt(mtime), size, linkTo, symlink },
    ranges,
    blockHashes: hashes,
    hlc: int(o.hlc, 'change.hlc', 0, Number.MAX_SAFE_INTEGER),
    merges,
  };
  return { change, inline };
}

/** Parses and validates one text frame. */
export function decodeMessage(text: string): Message {
  let o: Record<string, unknown>;
  try {
    o = object(JSON.parse(text), 'message');
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw bad('frame is not JSON');
  }
  switch (o.t) {
    case 'hello':
      return {
        t: 'hello',
        v: int(o.v, 'hello.v', 0, 1000),
        id: instanceId(o.id),
        name: str(o.name, 'hello.name', 200),
        key: str(o.key, 'hello.key', 200),
        nonce: str(o.nonce, 'hello.nonce', 64),
        ...(o.invite === undefined ? {} : { invite: inviteSecret(o.invite) }),
      };
    case 'auth':
      return { t: 'auth', sig: str(o.sig, 'auth.sig', 200) };
    case 'state': {
      const vector = object(o.vector, 'state.vector');
      const out: Record<string, number> = {};
      const keys = Object.keys(vector);
      if (keys.length > 100_000) throw bad('state.vector too long');
      for (const k of keys) out[instanceId(k)] = int(vector[k], 'state.vector[]', 0, Number.MAX_SAFE_INTEGER);
      const instances = array(o.instances, 'state.instances', 100_000).map(wireInstance);
      const connected = array(o.connected, 'state.connected', 100_000).map(instanceId);
      return { t: 'state', vector: out, instances, connected };
    }
    case 'changes':
      return {
        t: 'changes',
        list: array(o.list, 'changes.list', MAX_CHANGES_PER_FRAME) as WireChange[],
        instances: o.instances === undefined ? [] : array(o.instances, 'changes.instances', MAX_CHANGES_PER_FRAME).map(wireInstance),
      };
    case 'want':
      return {
        t: 'want',
        req: int(o.req, 'want.req', 0, 2 ** 32 - 1),
        change: changeId(o.change, 'want.change'),
        blocks: array(o.blocks, 'want.blocks', MAX_BLOCKS_PER_WANT).map((b) => int(b, 'want.blocks[]', 0, 2 ** 32 - 1)),
      };
    case 'done':
    case 'nothave':
      return { t: o.t, req: int(o.req, `${o.t}.req`, 0, 2 ** 32 - 1) };
    case 'have':
      return { t: 'have', change: changeId(o.change, 'have.change') };
    default:
      throw bad(`unknown message type ${JSON.stringify(String(o.t)).slice(0, 40)}`);
  }
}

export function encodeMessage(m: Message): string {
  return JSON.stringify(m);
}

/**
 * A content block frame: request id and block index (uint32 BE each), then the bytes.
 * Request ids start at 1: a binary frame whose first word is 0 is a changes frame.
 */
export const BLOCK_HEADER = 8;
const CHANGES_TAG = 0;

export function writeBlockHeader(frame: Buffer, req: number, index: number): void {
  frame.writeUInt32BE(req, 0);
  frame.writeUInt32BE(index, 4);
}

export function isChangesFrame(frame: Buffer): boolean {
  return frame.length >= 4 && frame.readUInt32BE(0) === CHANGES_TAG;
}

export function decodeBlock(frame: Buffer, maxBlock: number): { req: number; index: number; data: Buffer } {
  if (frame.length < 8 || frame.length > 8 + maxBlock) throw bad(`content frame of ${frame.length} bytes`);
  return { req: frame.readUInt32BE(0), index: frame.readUInt32BE(4), data: frame.subarray(8) };
}

/** zlib settings of a changes frame's JSON; both ends must use the same window. */
export const CHANGES_ZLIB = { windowBits: 13, memLevel: 6 } as const;

/**
 * One direction of a connection's changes frames: 0 and the length of the packed JSON
 * (uint32 BE each), a `changes` message as raw-deflated JSON, then the content of each
 * change flagged `inline`, in list order, `size` bytes each. Small files travel as raw bytes
 * beside their metadata, and each frame's JSON is deflated with the previous frame's as
 * preset dictionary: ids, keys and field names repeat from frame to frame and cost a few
 * bytes (zlib runs synchronously: a few microseconds for a frame's JSON).
 */
export class ChangesFrames {
  private previous: Buffer | null = null;

  encode(m: Extract<Message, { t: 'changes' }>, contents: readonly Buffer[]): Buffer {
    const json = Buffer.from(encodeMessage(m));
    const packed = deflateRawSync(json, this.zlibOptions());
    this.previous = json;
    const head = Buffer.allocUnsafe(BLOCK_HEADER);
    head.writeUInt32BE(CHANGES_TAG, 0);
    head.writeUInt32BE(packed.length, 4);
    return Buffer.concat([head, packed, ...contents]);
  }

  /** Decodes a changes frame into its message and each change with its content. */
  decode(frame: Buffer): { message: Extract<Message, { t: 'changes' }>; changes: Change[]; contents: Array<Buffer | null> } {
    if (frame.length < BLOCK_HEADER) throw bad(`changes frame of ${frame.length} bytes`);
    const jsonEnd = BLOCK_HEADER + frame.readUInt32BE(4);
    if (jsonEnd > frame.length) throw bad('changes frame: its JSON runs past the end');
    let json: Buffer;
    try {
      json = inflateRawSync(frame.subarray(BLOCK_HEADER, jsonEnd), { ...this.zlibOptions(), maxOutputLength: MAX_FRAME });
    } catch {
      throw bad('changes frame: its JSON does not inflate');
    }
    this.previous = json;
    const message = decodeMessage(json.toString('utf8'));
    if (message.t !== 'changes') throw bad(`a changes frame holds ${message.t}`);
    let at = jsonEnd;
    const contents = message.list.map((w) => {
      const o = object(w, 'change');
      if (o.inline === undefined) return null;
      const size = int(o.size, 'change.size', 0, INLINE_MAX);
      if (at + size > frame.length) throw bad('changes frame: inline content runs past the end');
      return frame.subarray(at, (at += size));
    });
    if (at !== frame.length) throw bad(`changes frame: ${frame.length - at} bytes after the last inline content`);
    const changes = message.list.map((w, i) => fromWire(w, contents[i]!).change);
    return { message, changes, contents };
  }

  private zlibOptions() {
    return this.previous ? { ...CHANGES_ZLIB, dictionary: this.previous } : CHANGES_ZLIB;
  }
}

// ---- validation helpers --------------------------------------------------------------------

function bad(message: string): ProtocolError {
  return new ProtocolError('MARBLE_BAD_FRAME', message);
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${what}: expected an object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string' || v.length > max) throw bad(`${what}: expected a string of at most ${max} characters`);
  return v;
}

function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(`${what}: expected a whole number in [${min}, ${max}]`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw bad(`${what}: expected true or false`);
  return v;
}

function array(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw bad(`${what}: expected a list of at most ${max}`);
  return v;
}

function base64(v: unknown, what: string, maxChars: number): Buffer {
  const s = str(v, what, Math.ceil(maxChars));
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw bad(`${what}: not base64`);
  return Buffer.from(s, 'base64');
}

function wireInstance(i: unknown): WireInstance {
  const x = object(i, 'instance');
  return { id: instanceId(x.id), name: str(x.name, 'instance.name', 200), key: x.key === null || x.key === undefined ? null : str(x.key, 'instance.key', 200) };
}

function instanceId(v: unknown): string {
  const s = str(v, 'instance id', 36);
  if (!INSTANCE_ID.test(s)) throw bad(`malformed instance id ${JSON.stringify(s)}`);
  return s;
}

function changeId(v: unknown, what: string): string {
  const s = str(v, what, 80);
  if (!CHANGE_ID.test(s)) throw bad(`${what}: malformed change id`);
  return s;
}

function nodeId(v: unknown, what: string, allowRoot: boolean): string {
  const s = str(v, what, 80);
  if (allowRoot && s === ROOT_NODE) return s;
  if (!CHANGE_ID.test(s)) throw bad(`${what}: malformed node id`);
  return s;
}

function inviteSecret(v: unknown): string {
  const s = str(v, 'hello.invite', 64);
  if (!isSecret(s)) throw bad('hello.invite is not an invite secret');
  return s;
}
