import { randomBytes } from 'node:crypto';
import { setImmediate as setImmediateP, setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import { BLOCK_SIZE, blockCount } from '../core/blocks.js';
import { fingerprintOf, signWith, verifySignature } from '../core/keys.js';
import type { Change } from '../core/model.js';
import { ReplicationError, type Store } from '../core/store.js';
import { droppedBuffers } from '../core/buffer-gc.js';
import type { ContentSource } from './fetcher.js';
import {
  BLOCK_HEADER,
  ChangesFrames,
  decodeBlock,
  decodeMessage,
  writeBlockHeader,
  encodeMessage,
  fromWire,
  INLINE_MAX,
  isChangesFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  toWire,
  type Message,
  type WireInstance,
} from './wire.js';

/** What a session needs from the replicator that owns it. */
export interface SessionHost {
  readonly store: Store;
  isTrusted(fingerprint: string): boolean;
  /** Whether a peer presented a one-time invite secret that is still valid. */
  inviteValid(secret: string): boolean;
  /** Uses up a one-time invite secret a peer presented, trusting its key from now on; false if not valid. */
  redeemInvite(secret: string, fingerprint: string): boolean;
  /** The session authenticated; false means refuse it (e.g. a duplicate connection). */
  ready(session: PeerSession): boolean;
  closed(session: PeerSession): void;
  /** Changes arrived (with the content that came inline, per change); returns once they are stored. */
  receive(session: PeerSession, changes: readonly Change[], inline: ReadonlyArray<Buffer | null>): void;
  connectedIds(): string[];
  announced(changeId: string): void;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void; debug(o: object, m?: string): void };
}

/** Blocks and bytes this instance served to peers since start, per store (read by /metrics). */
export interface ServedTotals {
  blocks: number;
  bytes: number;
}
const served = new WeakMap<Store, ServedTotals>();
export function servedTotals(store: Store): ServedTotals {
  let s = served.get(store);
  if (!s) served.set(store, (s = { blocks: 0, bytes: 0 }));
  return s;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 15_000;
const SEND_BATCH = 512;
/** Changes committed within this long of the previous frame wait to travel together. */
const SEND_GATHER_MS = 10;
/** Inline content per changes frame, so frames (and the peer's memory) stay small. */
const FRAME_INLINE_BUDGET = 2 * 1024 * 1024;
const HIGH_WATER = 2 * 1024 * 1024;
/** Consecutive blocks read from disk with one call when serving. */
const READ_RUN = 8;
const AUTH_CONTEXT = 'marble-peer-auth-v1\n';

/** WebSocket close codes, one per reason a peer is dropped. */
export const CLOSE = {
  badFrame: 4400,
  untrusted: 4401,
  badSignature: 4403,
  badHash: 4406,
  timeout: 4408,
  duplicate: 4409,
  outOfOrder: 4422,
  shutdown: 1001,
} as const;

/**
 * One authenticated connection to a peer, whichever side dialled (DESIGN §6): mutual
 * challenge-response with pinned keys, version vectors, then each side streams the
 * changes the other lacks in arrival order and pushes new ones live, and serves blocks.
 */
export class PeerSession implements ContentSource {
  peerId = '';
  peerName = '';
  peerFingerprint = '';
  readonly peerVector = new Map<string, number>();
  private peerKey: Buffer | null = null;
  private readonly nonce = randomBytes(32);
  private authenticated = false;
  private stateReceived = false;
  private isClosed = false;
  private cursor = 0;
  private sending = false;
  private wakeSender: (() => void) | null = null;
  private lastFrameAt = -Infinity;
  private nextReq = 1;
  /** Instances whose name and key the peer has been sent on this connection. */
  private readonly instancesSent = new Set<string>();
  private readonly changesIn = new ChangesFrames();
  private readonly changesOut = new ChangesFrames();
  private readonly requests = new Map<number, { onBlock: (i: number, d: Buffer) => Promise<void>; chain: Promise<void>; resolve: (r: 'done' | 'nothave') => void; reject: (e: Error) => void }>();
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly heartbeat: NodeJS.Timeout;
  readonly connectedAt = Date.now();
  changesReceived = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly host: SessionHost,
    readonly outbound: boolean,
    /** The TLS server certificate's hash (empty over plain ws): both proofs cover it. */
    private readonly binding: Buffer = Buffer.alloc(0),
    /** A one-time invite secret to present (dialling an instance that invited this one). */
    invite?: string,
  ) {
    this.handshakeTimer = setTimeout(() => this.close(CLOSE.timeout, 'handshake timed out'), HANDSHAKE_TIMEOUT_MS);
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    // A peer that vanished without closing (power cut, network gone) is noticed within two pings.
    let alive = true;
    ws.on('pong', () => (alive = true));
    this.heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    ws.on('close', () => this.onClosed());
    ws.on('error', (e) => host.log.debug({ err: e, peer: this.peerId }, 'peer connection error'));
    const store = host.store;
    const hello = { t: 'hello', v: PROTOCOL_VERSION, id: store.instanceId, name: store.instanceName, key: store.key.publicKey.toString('base64'), nonce: this.nonce.toString('base64') } as const;
    this.send(invite ? { ...hello, invite } : hello);
  }

  get isReady(): boolean {
    return this.authenticated && !this.isClosed;
  }

  /** New local or received changes exist: send what the peer lacks. */
  wake(): void {
    const w = this.wakeSender;
    this.wakeSender = null;
    w?.();
  }

  knows(changeId: string): boolean {
    const at = changeId.lastIndexOf(':');
    return (this.peerVector.get(changeId.slice(0, at)) ?? 0) >= Number(changeId.slice(at + 1));
  }

  requestBlocks(changeId: string, blocks: readonly number[], onBlock: (index: number, data: Buffer) => Promise<void>): Promise<'done' | 'nothave'> {
    if (!this.isReady) return Promise.reject(new Error('peer not connected'));
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.requests.set(req, { onBlock, chain: Promise.resolve(), resolve, reject });
      this.send({ t: 'want', req, change: changeId, blocks: [...blocks] });
    });
  }

  /** Stops reading from the peer (its frames wait in the socket) until resumeReading. */
  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }

  announce(changeId: string): void {
    if (this.isReady) this.send({ t: 'have', change: changeId });
  }

  fail(error: ProtocolError): void {
    this.host.log.warn({ peer: this.peerId, reason: error.reason, err: error.message }, 'dropping peer');
    this.close(error.code, error.reason);
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
    setTimeout(() => this.ws.terminate(), 2000).unref();
    this.onClosed();
  }

  // ---- receiving -------------------------------------------------------------------------

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.isClosed) return;
    try {
      if (!isBinary) this.onMessage(decodeMessage(data.toString('utf8')));
      else if (isChangesFrame(data)) {
        this.checkAuthenticated('changes');
        const { message, changes, contents } = this.changesIn.decode(data);
        this.onChanges(message, changes, contents);
      } else this.onBlock(data);
    } catch (e) {
      if (e instanceof ProtocolError) this.fail(e);
      else if (e instanceof ReplicationError) this.fail(new ProtocolError(e.code, e.message, CLOSE.outOfOrder));
      else {
        this.host.log.warn({ err: e, peer: this.peerId }, 'failed to handle a peer frame');
        this.close(1011, 'internal error');
      }
    }
  }

  private checkAuthenticated(what: string): void {
    if (!this.authenticated) throw new ProtocolError('MARBLE_NOT_AUTHENTICATED', `${what} before authentication`, CLOSE.badFrame);
  }

  private onMessage(m: Message): void {
    if (m.t !== 'hello' && m.t !== 'auth') this.checkAuthenticated(m.t);
    switch (m.t) {
      case 'hello':
        return this.onHello(m);
      case 'auth':
        return this.onAuth(m.sig);
      case 'state':
        return this.onState(m);
      case 'changes': {
        const changes = m.list.map((w) => fromWire(w).change);
        return this.onChanges(m, changes, changes.map(() => null));
      }
      case 'want':
        void this.serve(m.req, m.change, m.blocks);
        return;
      case 'done':
      case 'nothave': {
        const r = this.requests.get(m.req);
        if (!r) throw new ProtocolError('MARBLE_BAD_FRAME', `answer to unknown request ${m.req}`);
        this.requests.delete(m.req);
        r.chain.then(() => r.resolve(m.t as 'done' | 'nothave'), r.reject);
        return;
      }
      case 'have':
        this.host.announced(m.change);
        return;
    }
  }

  private onChanges(m: Extract<Message, { t: 'changes' }>, changes: readonly Change[], inline: ReadonlyArray<Buffer | null>): void {
    if (!this.stateReceived) throw new ProtocolError('MARBLE_BAD_FRAME', 'changes before state');
    this.noteInstances(m.instances ?? []);
    try {
      this.host.receive(this, changes, inline);
    } finally {
      // What was stored counts, also when a later change broke the protocol.
      for (const change of changes) {
        if (!this.host.store.hasChange(change.id)) break;
        this.changesReceived++;
        if ((this.peerVector.get(change.origin) ?? 0) < change.counter) this.peerVector.set(change.origin, change.counter);
      }
    }
  }

  private onHello(m: Extract<Message, { t: 'hello' }>): void {
    if (this.peerKey) throw new ProtocolError('MARBLE_BAD_FRAME', 'second hello');
    if (m.v !== PROTOCOL_VERSION) throw new ProtocolError('MARBLE_VERSION', `peer speaks protocol ${m.v}, this instance ${PROTOCOL_VERSION}`);
    const key = Buffer.from(m.key, 'base64');
    const fingerprint = fingerprintOf(key);
    if (m.id === this.host.store.instanceId) throw new ProtocolError('MARBLE_SELF', 'connected to itself', CLOSE.duplicate);
    if (!this.host.isTrusted(fingerprint)) {
      // An invite is checked (and used up) only once the peer has proven it holds this key.
      if (!m.invite) throw new ProtocolError('MARBLE_UNTRUSTED', `key ${fingerprint} of ${m.name} is not trusted (add it with --trust, or pair with marble invite / marble join)`, CLOSE.untrusted);
      if (!this.host.inviteValid(m.invite)) throw invalidInvite(m.name);
      this.presentedInvite = m.invite;
    }
    this.peerKey = key;
    this.peerId = m.id;
    this.peerName = m.name;
    this.peerFingerprint = fingerprint;
    const theirs = Buffer.from(m.nonce, 'base64');
    if (theirs.length !== 32) throw new ProtocolError('MARBLE_BAD_FRAME', 'nonce must be 32 bytes');
    const proof = Buffer.concat([Buffer.from(AUTH_CONTEXT), this.binding, theirs, this.nonce, Buffer.from(this.host.store.instanceId)]);
    this.send({ t: 'auth', sig: signWith(this.host.store.key, proof).toString('base64') });
    this.theirNonce = theirs;
  }

  private theirNonce: Buffer | null = null;
  private presentedInvite: string | null = null;

  private onAuth(sig: string): void {
    if (!this.peerKey || !this.theirNonce || this.authenticated) throw new ProtocolError('MARBLE_BAD_FRAME', 'auth out of turn');
    const proof = Buffer.concat([Buffer.from(AUTH_CONTEXT), this.binding, this.nonce, this.theirNonce, Buffer.from(this.peerId)]);
    if (!verifySignature(this.peerKey, proof, Buffer.from(sig, 'base64'))) {
      throw new ProtocolError('MARBLE_BAD_SIGNATURE', `${this.peerName} did not prove it holds its key`, CLOSE.badSignature);
    }
    if (this.presentedInvite !== null) {
      if (!this.host.redeemInvite(this.presentedInvite, this.peerFingerprint)) throw invalidInvite(this.peerName);
      this.host.log.info({ peer: this.peerId, name: this.peerName, fingerprint: this.peerFingerprint }, 'peer joined with an invite: its key is trusted from now on');
    }
    clearTimeout(this.handshakeTimer);
    this.authenticated = true;
    if (!this.host.ready(this)) {
      this.close(CLOSE.duplicate, 'already connected');
      return;
    }
    const store = this.host.store;
    store.noteInstance(this.peerId, this.peerName, this.peerKey.toString('base64'));
    const instances: WireInstance[] = store.instances().map((i) => ({ id: i.id, name: i.name, key: i.publicKey }));
    for (const i of instances) this.instancesSent.add(i.id);
    this.send({ t: 'state', vector: Object.fromEntries(store.vector()), instances, connected: this.host.connectedIds() });
  }

  private onState(m: Extract<Message, { t: 'state' }>): void {
    if (this.stateReceived) throw new ProtocolError('MARBLE_BAD_FRAME', 'second state');
    this.stateReceived = true;
    for (const [origin, counter] of Object.entries(m.vector)) this.peerVector.set(origin, counter);
    this.noteInstances(m.instances);
    void this.sendLoop();
  }

  /** Remembers instances heard of (names for /.splits/), without overwriting what is known. */
  private noteInstances(list: readonly WireInstance[]): void {
    if (!list.length) return;
    const known = new Set(this.host.store.instances().map((i) => i.id));
    for (const i of list) if (!known.has(i.id)) this.host.store.noteInstance(i.id, i.name, i.key);
  }

  private onBlock(frame: Buffer): void {
    const { req, index, data } = decodeBlock(frame, BLOCK_SIZE);
    const r = this.requests.get(req);
    if (!r) throw new ProtocolError('MARBLE_BAD_FRAME', `block for unknown request ${req}`);
    // ws hands each message its own buffer: the block can be kept without a copy.
    r.chain = r.chain.then(() => r.onBlock(index, data));
    r.chain.catch((e) => {
      if (this.requests.get(req) === r) this.requests.delete(req);
      r.reject(e);
    });
  }

  private onClosed(): void {
    clearTimeout(this.handshakeTimer);
    clearInterval(this.heartbeat);
    if (!this.isClosed) this.isClosed = true;
    for (const r of this.requests.values()) r.reject(new Error('peer disconnected'));
    this.requests.clear();
    this.wake();
    this.host.closed(this);
  }

  // ---- sending ---------------------------------------------------------------------------

  private send(m: Message): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeMessage(m));
  }

  /** Streams every change the peer lacks, in arrival order, then waits for more. */
  private async sendLoop(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    const store = this.host.store;
    while (!this.isClosed) {
      const rows = store.changesAfter(this.cursor, SEND_BATCH);
      if (!rows.length) {
        await new Promise<void>((resolve) => (this.wakeSender = resolve));
        await this.gatherWindow();
        continue;
      }
      const list = [];
      const contents: Buffer[] = [];
      const origins = new Set<string>();
      let inlineBytes = 0;
      for (const { seq, change } of rows) {
        if (inlineBytes > FRAME_INLINE_BUDGET) break; // the rest goes in the next frame
        this.cursor = seq;
        if (change.counter <= (this.peerVector.get(change.origin) ?? 0)) continue;
        const inline = this.inlineContent(change);
        if (inline) {
          inlineBytes += inline.length;
          contents.push(inline);
        }
        list.push(toWire(change, inline !== undefined));
        if (!this.instancesSent.has(change.origin)) origins.add(change.origin);
        this.peerVector.set(change.origin, change.counter);
      }
      if (list.length) {
        const instances = origins.size ? store.instances().filter((i) => origins.has(i.id)).map((i) => ({ id: i.id, name: i.name, key: i.publicKey })) : [];
        for (const i of instances) this.instancesSent.add(i.id);
        const frame = this.changesOut.encode({ t: 'changes', list, ...(instances.length ? { instances } : {}) }, contents);
        if (this.ws.readyState === this.ws.OPEN) this.ws.send(frame, { binary: true });
        this.lastFrameAt = performance.now();
      }
      await this.drained();
    }
  }

  /**
   * Waits before sending what a commit woke the loop for: at least until the committer's own
   * work is done (a WebDAV PUT answers first), and, when the previous frame left less than
   * SEND_GATHER_MS ago, until then. Changes committed in quick succession (a folder copied
   * in, one file at a time) then travel in one frame, one transaction on the peer, instead
   * of a frame each; a change after a quiet moment leaves at once.
   */
  private async gatherWindow(): Promise<void> {
    const wait = this.lastFrameAt + SEND_GATHER_MS - performance.now();
    await (wait > 0 ? sleep(wait) : setImmediateP());
  }

  /** Small content travels with its change, so a small file needs no second round trip. */
  private inlineContent(c: Change): Buffer | undefined {
    if ((c.kind !== 'create' && c.kind !== 'write') || c.meta.isDir || c.meta.size > INLINE_MAX) return undefined;
    const data = this.host.store.contentSource(c.id);
    if (!data || data.size !== c.meta.size) return undefined;
    try {
      return this.host.store.blobs.readAll(data.id);
    } catch {
      return undefined;
    }
  }

  private async serve(req: number, changeId: string, blocks: number[]): Promise<void> {
    const store = this.host.store;
    const data = store.contentSource(changeId);
    if (!data) {
      this.send({ t: 'nothave', req });
      return;
    }
    store.hold(data.id);
    try {
      const fh = await store.blobs.openForRead(data.id);
      try {
        for (let from = 0; from < blocks.length; ) {
          // A run of consecutive blocks is read with one call, each block straight into its
          // own frame behind the header.
          let to = from + 1;
          while (to < blocks.length && to - from < READ_RUN && blocks[to] === blocks[to - 1]! + 1) to++;
          const frames = blocks.slice(from, to).map((index) => {
            if (index >= blockCount(data.size)) throw new ProtocolError('MARBLE_BAD_FRAME', `asked for block ${index} past the end`);
            const frame = Buffer.allocUnsafe(BLOCK_HEADER + Math.min(BLOCK_SIZE, data.size - index * BLOCK_SIZE));
            writeBlockHeader(frame, req, index);
            return frame;
          });
          let { bytesRead } = await fh.readv(
            frames.map((f) => f.subarray(BLOCK_HEADER)),
            blocks[from]! * BLOCK_SIZE,
          );
          for (const frame of frames) {
            if (this.isClosed) return;
            const length = Math.min(frame.length - BLOCK_HEADER, bytesRead);
            bytesRead -= length;
            this.ws.send(frame.subarray(0, BLOCK_HEADER + length), { binary: true });
            const tally = servedTotals(store);
            tally.blocks++;
            tally.bytes += length;
            droppedBuffers(frame.length);
            await this.drained();
          }
          from = to;
        }
      } finally {
        await fh.close();
      }
      this.send({ t: 'done', req });
    } catch (e) {
      if (e instanceof ProtocolError) this.fail(e);
      else this.send({ t: 'nothave', req });
    } finally {
      store.release(data.id);
    }
  }

  private async drained(): Promise<void> {
    while (this.ws.bufferedAmount > HIGH_WATER && !this.isClosed) await new Promise((r) => setTimeout(r, 2));
  }
}

function invalidInvite(peerName: string): ProtocolError {
  return new ProtocolError('MARBLE_UNTRUSTED', `${peerName} presented an invite that is not valid (used, expired, or made by another instance)`, CLOSE.untrusted);
}
