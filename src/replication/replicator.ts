import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import { isResidentSize } from '../core/blobs.js';
import { BlockHasher } from '../core/blocks.js';
import type { Change } from '../core/model.js';
import type { Store } from '../core/store.js';
import { Fetcher } from './fetcher.js';
import { CLOSE, PeerSession, type SessionHost } from './session.js';
import { Invites } from './invites.js';
import { MAX_FRAME, ProtocolError } from './wire.js';

export interface ReplicatorOptions {
  readonly store: Store;
  /** Fingerprints of peers allowed to connect (and to be connected to). */
  readonly trusted: readonly string[];
  /** Invite secrets to present, by peer URL (from marble join). */
  readonly invites?: Readonly<Record<string, string>>;
  /** Peer endpoints to dial, e.g. ws://host:8438/peer. */
  readonly peers: readonly string[];
  readonly log: SessionHost['log'];
  /** The HTTP server's TLS certificate (PEM), when peers reach this instance over wss://. */
  readonly serverCert?: Buffer;
}

export interface PeerStatus {
  readonly id: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly direction: 'in' | 'out';
  readonly connectedAt: number;
  readonly changesReceived: number;
  /** Changes this instance holds that the peer has not acknowledged having. */
  readonly lag: number;
}

const BACKOFF_MIN_MS = 500;
/** Inline content received and not yet durable, beyond which peers are not read from. */
const INLINE_QUEUE_MAX = 8 * 1024 * 1024;
const BACKOFF_MAX_MS = 60_000;

/**
 * Replication over WebSockets (DESIGN §6): accepts and dials peers, keeps one session per
 * peer, feeds received changes to the store and missing content to the fetcher, and wakes
 * every session when there is something new to send.
 */
export class Replicator implements SessionHost {
  readonly store: Store;
  readonly log: SessionHost['log'];
  readonly fetcher: Fetcher;
  private readonly trusted: Set<string>;
  readonly invites: Invites;
  private readonly inviteSecrets: Readonly<Record<string, string>>;
  private readonly sessions = new Map<string, PeerSession>();
  private readonly all = new Set<PeerSession>();
  private readonly dialers: Array<{ stop(): void }> = [];
  private stopped = false;
  /** Inline content verified and waiting to be written, in arrival order. */
  private inline: Array<{ changeId: string; dataId: number; size: number; hashes: Buffer; data: Buffer }> = [];
  private inlineBytes = 0;
  private storing = false;
  /** Sessions not read from until the inline content queued has been written. */
  private readonly paused = new Set<PeerSession>();
  /** What inbound sessions bind their proof to: this server's certificate, or nothing over plain ws. */
  private readonly inboundBinding: Buffer;

  constructor(opts: ReplicatorOptions) {
    this.store = opts.store;
    this.log = opts.log;
    this.trusted = new Set(opts.trusted);
    this.invites = new Invites(this.store);
    this.inviteSecrets = opts.invites ?? {};
    this.inboundBinding = opts.serverCert ? channelBinding(new X509Certificate(opts.serverCert).raw) : Buffer.alloc(0);
    this.fetcher = new Fetcher(this.store, this.log, (id) => {
      for (const s of this.sessions.values()) s.announce(id);
    });
    this.store.onCommit(() => {
      for (const s of this.all) s.wake();
    });
    for (const url of opts.peers) this.dialers.push(this.dial(url));
  }

  /** An inbound WebSocket on the peer endpoint. */
  accept(ws: WebSocket): void {
    if (this.stopped) return ws.close(CLOSE.shutdown, 'shutting down');
    this.track(new PeerSession(ws, this, false, this.inboundBinding));
  }

  isTrusted(fingerprint: string): boolean {
    return this.trusted.has(fingerprint) || this.invites.trusted().includes(fingerprint);
  }

  inviteValid(secret: string): boolean {
    return this.invites.isValid(secret);
  }

  redeemInvite(secret: string, fingerprint: string): boolean {
    return this.invites.redeem(secret, fingerprint);
  }

  ready(session: PeerSession): boolean {
    const existing = this.sessions.get(session.peerId);
    if (existing && existing.isReady) {
      // Both sides dialled: keep the connection dialled by the lower instance id, on both ends.
      // The same side dialling again means its old connection is dead (it restarted): the new one wins.
      const dialer = (s: PeerSession) => (s.outbound ? this.store.instanceId : s.peerId);
      if (dialer(existing) !== dialer(session) && dialer(existing) < dialer(session)) return false;
      existing.close(CLOSE.duplicate, 'replaced by a newer connection');
    }
    this.sessions.set(session.peerId, session);
    this.fetcher.addSource(session);
    this.log.info({ peer: session.peerId, name: session.peerName, direction: session.outbound ? 'out' : 'in' }, 'peer connected');
    return true;
  }

  closed(session: PeerSession): void {
    this.all.delete(session);
    this.paused.delete(session);
    this.fetcher.removeSource(session);
    if (this.sessions.get(session.peerId) === session) {
      this.sessions.delete(session.peerId);
      this.log.info({ peer: session.peerId, name: session.peerName }, 'peer disconnected');
    }
  }

  /**
   * Stores a frame's changes in one transaction, up to the first that breaks the protocol
   * (which is then thrown: what came before it stays stored).
   */
  receive(session: PeerSession, changes: readonly Change[], inline: ReadonlyArray<Buffer | null>): void {
    let error: unknown = null;
    this.store.atomically(() => {
      for (let i = 0; i < changes.length && !error; i++) {
        try {
          this.receiveOne(changes[i]!, inline[i] ?? null);
        } catch (e) {
          error = e;
        }
      }
    });
    if (this.inlineBytes > INLINE_QUEUE_MAX && !this.paused.has(session)) {
      this.paused.add(session);
      session.pauseReading();
    }
    if (error) throw error;
  }

  private receiveOne(change: Change, inline: Buffer | null): void {
    let lie: unknown = null;
    for (const missing of this.store.receive(change)) {
      if (!inline || missing.changeId !== change.id) this.fetcher.enqueue(missing.changeId);
      else {
        try {
          this.applyInline(change, inline);
        } catch (e) {
          lie = e; // the change is stored: its content is fetched from whoever has it
          this.fetcher.enqueue(missing.changeId);
        }
      }
    }
    if (lie) throw lie;
  }

  connectedIds(): string[] {
    return [...this.sessions.keys()];
  }

  announced(): void {
    this.fetcher.wake();
  }

  peers(): PeerStatus[] {
    const vector = this.store.vector();
    return [...this.sessions.values()].map((s) => {
      let lag = 0;
      for (const [origin, counter] of vector) lag += Math.max(0, counter - (s.peerVector.get(origin) ?? 0));
      return {
        id: s.peerId,
        name: s.peerName,
        fingerprint: s.peerFingerprint,
        direction: s.outbound ? 'out' : 'in',
        connectedAt: s.connectedAt,
        changesReceived: s.changesReceived,
        lag,
      };
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const d of this.dialers) d.stop();
    this.fetcher.close();
    for (const s of [...this.all]) s.close(CLOSE.shutdown, 'shutting down');
  }

  /**
   * Small content came with its change: verify it against the recorded hashes now (a lie
   * closes the session), then store it with the others that arrive until the batch before
   * is durable: one round of fsyncs (none for resident content) and one transaction per batch, not per file.
   */
  private applyInline(change: Change, inline: Buffer): void {
    const plan = this.store.contentPlan(change.id);
    if (!plan) return;
    const hasher = new BlockHasher();
    hasher.update(inline);
    if (inline.length !== plan.size || !hasher.digest().equals(plan.hashes)) {
      throw new ProtocolError('MARBLE_BAD_HASH', `inline content of ${change.id} does not match its block hashes`, CLOSE.badHash);
    }
    this.inline.push({ changeId: change.id, dataId: this.store.allocateDataId(), size: plan.size, hashes: plan.hashes, data: inline });
    this.inlineBytes += inline.length;
    if (!this.storing) {
      this.storing = true;
      setImmediate(() => void this.storeInline());
    }
  }

  private async storeInline(): Promise<void> {
    while (this.inline.length && !this.stopped) {
      const batch = this.inline;
      this.inline = [];
      try {
        const files = batch.filter((b) => !isResidentSize(b.data.length)); // the rest is resident: no file at all
        if (files.length) await this.store.blobs.writeManyDurable(files.map((b) => ({ id: b.dataId, data: b.data })));
        // The store may be closed once stopped; these are fetched again after the restart.
        if (!this.stopped) {
          this.store.atomically(() => {
            for (const b of batch) {
              const resident = isResidentSize(b.data.length) ? b.data : undefined;
              if (!this.store.materialize(b.changeId, b.dataId, b.size, b.hashes, resident)) this.store.discardBlob(b.dataId);
            }
          });
        }
      } catch (e) {
        this.log.warn({ err: e }, 'could not store received content; fetching it again');
        for (const b of batch) this.fetcher.enqueue(b.changeId);
      }
      this.inlineBytes -= batch.reduce((n, b) => n + b.data.length, 0);
      if (this.inlineBytes <= INLINE_QUEUE_MAX) this.resumeReading();
    }
    this.storing = false;
    this.resumeReading();
  }

  private resumeReading(): void {
    for (const s of this.paused) s.resumeReading();
    this.paused.clear();
  }

  private track(session: PeerSession): PeerSession {
    this.all.add(session);
    return session;
  }

  /** Keeps a connection to `url` up, reconnecting with capped exponential backoff. */
  private dial(url: string): { stop(): void } {
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    let current: WebSocket | null = null;
    let failures = 0;
    let peerId = '';
    const attempt = () => {
      if (stopped) return;
      if (peerId && this.sessions.get(peerId)?.isReady) {
        // Already connected the other way round: look again later.
        timer = setTimeout(attempt, BACKOFF_MAX_MS / 4);
        timer.unref();
        return;
      }
      // Peers authenticate by key, not by certificate authority: a self-signed certificate is
      // fine, and the key proofs are bound to the certificate seen, so a relay cannot sit between.
      const ws = new WebSocket(url, { maxPayload: MAX_FRAME, handshakeTimeout: 10_000, perMessageDeflate: false, rejectUnauthorized: false });
      current = ws;
      const started = Date.now();
      let session: PeerSession | null = null;
      let binding: Buffer = Buffer.alloc(0);
      ws.on('upgrade', (res) => {
        const socket = res.socket as TLSSocket;
        if (typeof socket.getPeerCertificate === 'function') binding = channelBinding(socket.getPeerCertificate().raw);
      });
      ws.on('open', () => {
        session = this.track(new PeerSession(ws, this, true, binding, this.inviteSecrets[url]));
      });
      ws.on('error', (e) => this.log.debug({ err: e, url }, 'dial failed'));
      ws.on('close', () => {
        current = null;
        if (session?.peerId) peerId = session.peerId;
        if (stopped) return;
        failures = session && Date.now() - started > 10_000 ? 0 : failures + 1;
        const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 10));
        timer = setTimeout(attempt, delay * (0.75 + Math.random() * 0.5));
        timer.unref();
      });
    };
    attempt();
    return {
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        current?.terminate();
      },
    };
  }
}

function channelBinding(certDer: Buffer): Buffer {
  return createHash('sha256').update(certDer).digest();
}
