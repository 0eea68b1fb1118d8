/**
 * A hand-driven peer for wire tests: a plain `ws` client that performs the real handshake
 * (hello, challenge signed with a key created by `marble init`, state) and then sends
 * whatever the test wants, well-formed or not. It reuses the product's key code and
 * constants, so only the misbehaviour under test differs from a real instance.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import WebSocket from 'ws';
import { BLOCK_SIZE, blockCount } from '../../src/core/blocks.js';
import { loadOrCreateKey, signWith, type InstanceKey } from '../../src/core/keys.js';
import { deflateRawSync } from 'node:zlib';
import { CHANGES_ZLIB, ChangesFrames, isChangesFrame, PROTOCOL_VERSION } from '../../src/replication/wire.js';
import { runMarbleCli, tempDir, type Teardown } from './marble.js';

/** Must match AUTH_CONTEXT in src/replication/session.ts (not exported there). */
const AUTH_CONTEXT = 'marble-peer-auth-v1\n';

export interface RawIdentity {
  readonly id: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly key: InstanceKey;
}

/** A fresh instance identity from `marble init` (its data directory is only used for the key). */
export async function rawIdentity(t: Teardown, name: string): Promise<RawIdentity> {
  const data = path.join(await tempDir(t, 'marble-rawpeer-'), name);
  const { stdout } = await runMarbleCli(['init', '--data', data, '--name', name]);
  const id = /^id: (\S+)$/m.exec(stdout)![1]!;
  const fingerprint = /^fingerprint: (\S+)$/m.exec(stdout)![1]!;
  const key = loadOrCreateKey(data);
  if (key.fingerprint !== fingerprint) throw new Error(`key in ${data} has fingerprint ${key.fingerprint}, init printed ${fingerprint}`);
  return { id, name, fingerprint, key };
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

type Json = Record<string, unknown>;

export class RawPeer {
  /** Text messages received after the handshake, in order (parsed). */
  readonly inbox: Json[] = [];
  /** Binary changes frames received after the handshake, in order, each as the change ids it carried. */
  readonly changesFrames: string[][] = [];
  private readonly changesIn = new ChangesFrames();
  readonly closed: Promise<Closed>;
  serverId = '';
  /** The server's version vector from its `state`. */
  serverVector: Record<string, number> = {};
  private waiters: Array<() => void> = [];

  private constructor(
    readonly ws: WebSocket,
    closed: Promise<Closed>,
  ) {
    this.closed = closed;
  }

  /**
   * Connects to `url` (ws://HOST:PORT/peer) as `me` and completes the handshake: returns once
   * the server's `state` arrived and ours was sent, so changes may follow.
   */
  static async connect(url: string, me: RawIdentity, timeoutMs = 10_000): Promise<RawPeer> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    ws.on('error', () => undefined); // the close event carries what the test asserts
    const closed = new Promise<Closed>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    const peer = new RawPeer(ws, closed);
    const nonce = randomBytes(32);
    let serverNonce: Buffer | null = null;
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`handshake with ${url} not done after ${timeoutMs} ms`)), timeoutMs);
      void closed.then((c) => {
        if (!ready) reject(new Error(`closed during handshake: ${c.code} ${c.reason}`));
      });
      ws.on('open', () => {
        peer.sendJson({ t: 'hello', v: PROTOCOL_VERSION, id: me.id, name: me.name, key: me.key.publicKey.toString('base64'), nonce: nonce.toString('base64') });
      });
      ws.on('message', (data, isBinary) => {
        if (isBinary) {
          if (ready && isChangesFrame(data as Buffer)) peer.changesFrames.push(peer.changesIn.decode(data as Buffer).changes.map((c) => c.id));
          return;
        }
        const m = JSON.parse(String(data)) as Json;
        if (ready) {
          peer.inbox.push(m);
          for (const w of peer.waiters.splice(0)) w();
          return;
        }
        if (m.t === 'hello') {
          peer.serverId = m.id as string;
          serverNonce = Buffer.from(m.nonce as string, 'base64');
          // the same proof session.ts verifies: context, verifier's nonce, signer's nonce, signer's id
          const proof = Buffer.concat([Buffer.from(AUTH_CONTEXT), serverNonce, nonce, Buffer.from(me.id)]);
          peer.sendJson({ t: 'auth', sig: signWith(me.key, proof).toString('base64') });
        } else if (m.t === 'state') {
          peer.serverVector = m.vector as Record<string, number>;
          peer.sendJson({ t: 'state', vector: {}, instances: [], connected: [] });
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return peer;
  }

  sendJson(m: unknown): void {
    this.ws.send(JSON.stringify(m));
  }

  sendText(s: string): void {
    this.ws.send(s);
  }

  sendBinary(b: Buffer): void {
    this.ws.send(b, { binary: true });
  }

  /** The next received message with `t === type` (waits for it). */
  async next(type: string, timeoutMs = 15_000): Promise<Json> {
    const t0 = Date.now();
    for (;;) {
      const at = this.inbox.findIndex((m) => m.t === type);
      if (at >= 0) return this.inbox.splice(at, 1)[0]!;
      if (Date.now() - t0 > timeoutMs) throw new Error(`no ${type} message within ${timeoutMs} ms (got ${this.inbox.map((m) => m.t).join(', ') || 'nothing'})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the server to close the connection; rejects if it is still open after `timeoutMs`. */
  async closeFromServer(timeoutMs = 15_000): Promise<Closed> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
      this.ws.terminate();
    }
  }
}

/** Block hashes in the wire's packed form: per block a uint32 index, then its SHA-256. */
export function packedHashes(content: Buffer): Buffer {
  const n = blockCount(content.length);
  const out = Buffer.alloc(n * 36);
  for (let i = 0; i < n; i++) {
    out.writeUInt32BE(i, i * 36);
    createHash('sha256')
      .update(content.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE))
      .digest()
      .copy(out, i * 36 + 4);
  }
  return out;
}

/**
 * A `create` change of a file in the root, as a peer would send it: `content` gives the size
 * and block hashes (send it with changesFrame to have bytes travel inline).
 */
export function createChange(origin: string, counter: number, name: string, content: Buffer): Json {
  const id = `${origin}:${counter}`;
  return {
    id,
    node: id,
    parent: null,
    kind: 'create',
    name,
    dir: 'root',
    isDir: false,
    mode: 0o644,
    mtime: `${Date.now()}000000`,
    size: content.length,
    ranges: content.length ? [[0, content.length]] : [],
    hashes: packedHashes(content).toString('base64'),
    hlc: Date.now(),
  };
}

/**
 * The first changes frame of a connection (as wire.ts encodes it, written out here by hand):
 * 0 and the packed JSON's length as uint32 BE, the `changes` message raw-deflated (no
 * dictionary: nothing came before), then the inline bytes. Each change paired with bytes is
 * flagged `inline: 1`; `tail` is appended as is (for frames that lie about lengths).
 */
export function changesFrame(list: ReadonlyArray<readonly [Json, Buffer | null]>, tail = Buffer.alloc(0)): Buffer {
  return packedChangesFrame(JSON.stringify({ t: 'changes', list: list.map(([c, bytes]) => (bytes ? { ...c, inline: 1 } : c)) }), list, tail);
}

/** A changes frame around any JSON text (well-formed or not). */
export function packedChangesFrame(jsonText: string, list: ReadonlyArray<readonly [Json, Buffer | null]> = [], tail = Buffer.alloc(0)): Buffer {
  const json = deflateRawSync(Buffer.from(jsonText), CHANGES_ZLIB);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(json.length, 4);
  return Buffer.concat([head, json, ...list.flatMap(([, bytes]) => (bytes ? [bytes] : [])), tail]);
}

/** A content frame: request id, block index, bytes (as session.ts encodes it). */
export function blockFrame(req: number, index: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(req, 0);
  head.writeUInt32BE(index, 4);
  return Buffer.concat([head, data]);
}
