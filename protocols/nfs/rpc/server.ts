import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { writeWithFileTail } from './file-tail.js';
import { readInto } from './read-into.js';
import { RecordBuffers } from './record-buffers.js';
import { LARGE_FRAGMENT, RecordDecoder } from './record.js';
import { RpcDispatcher, silentLogger, type Peer, type RpcLogger, type RpcProgram } from './dispatcher.js';

export interface RpcServerOptions {
  /** largest request record (default 1 MiB + 64 KiB: a 1 MiB WRITE plus headers); larger closes the connection */
  maxRecordSize?: number;
  /** most fragments per record (default 1024) */
  maxFragments?: number;
  /** largest reply record (default 4 MiB + 64 KiB); a larger reply becomes SYSTEM_ERR */
  maxReplySize?: number;
  /** calls executing at once on one connection (default 32); beyond it reading pauses */
  maxInFlight?: number;
  /**
   * bytes one connection may hold (queued and executing requests plus unsent
   * replies, default 16 MiB); beyond it reading pauses until replies drain
   */
  maxBufferedBytes?: number;
  /** concurrent connections (default 1024); further ones are dropped on accept */
  maxConnections?: number;
  /**
   * receive large fragments straight into reused buffers (default true); false reads
   * 'data' events and copies, as on a Node where that is not possible (see read-into.ts)
   */
  readInto?: boolean;
  /**
   * send a reply's file tail (a READ's data) straight from the page cache with sendfile where
   * the native addon offers it (default true); false always reads it and writes the bytes
   */
  zeroCopy?: boolean;
  /** a request record of `bytes` was done with and left to the GC (not reused) */
  onRecordDropped?: (bytes: number) => void;
  logger?: RpcLogger;
}

export interface RpcListenOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 0: a free port, see the resolved address */
  port?: number;
  /**
   * Decides once per connection whether its client is served. Refused clients
   * stay connected but get AUTH_ERROR/TOOWEAK, except from programs registered
   * with `acceptsRefused`. Receives the remote address (IPv4-mapped IPv6 as
   * plain IPv4). A throw counts as a refusal and is logged.
   */
  allow?: (remoteAddress: string) => boolean;
}

/**
 * ONC RPC v2 server over TCP (RFC 5531): record marking, pipelined calls
 * answered as each completes (clients match replies by xid), flow control.
 *
 * Contract:
 * - Programs are registered before or after listen(); see {@link RpcDispatcher}
 *   for routing and the rejections sent.
 * - A connection is closed, without affecting others, on a record-marking
 *   violation (a record over maxRecordSize, too many fragments), on a record
 *   that carries no usable xid or is not a CALL, and on EOF in the middle of a
 *   record. Every other record gets exactly one reply.
 * - Handler exceptions never escape: they become SYSTEM_ERR and are logged.
 * - listen() rejects on bind errors; close() stops accepting, destroys open
 *   connections (aborting their calls' signals) and resolves when the listener
 *   has closed. Handlers still running finish, their replies are dropped.
 */
export class RpcServer {
  private readonly dispatcher: RpcDispatcher;
  private readonly options: Required<Omit<RpcServerOptions, 'logger' | 'maxReplySize' | 'onRecordDropped'>>;
  private readonly receive: Receive;
  private readonly logger: RpcLogger;
  private server: net.Server | undefined;
  private readonly connections = new Set<Connection>();

  constructor(options: RpcServerOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.dispatcher = new RpcDispatcher({ logger: this.logger, ...(options.maxReplySize ? { maxReplySize: options.maxReplySize } : {}) });
    this.options = {
      maxRecordSize: options.maxRecordSize ?? 1024 * 1024 + 64 * 1024,
      maxFragments: options.maxFragments ?? 1024,
      maxInFlight: options.maxInFlight ?? 32,
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024 * 1024,
      maxConnections: options.maxConnections ?? 1024,
      readInto: options.readInto ?? true,
      zeroCopy: options.zeroCopy ?? true,
    };
    this.receive = {
      buffers: new RecordBuffers(this.options.maxRecordSize),
      scratch: Buffer.allocUnsafeSlow(LARGE_FRAGMENT),
      readInto: this.options.readInto,
      dropped: options.onRecordDropped ?? (() => {}),
    };
  }

  /** @throws Error if `prog` is already registered. */
  register(prog: number, program: RpcProgram): this {
    this.dispatcher.register(prog, program);
    return this;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts listening; resolves with the bound address (port 0 resolved). */
  async listen(options: RpcListenOptions = {}): Promise<AddressInfo> {
    if (this.server) throw new Error('RpcServer: already listening');
    const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket, options.allow));
    server.maxConnections = this.options.maxConnections;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.logger.error({ err: String(e) }, 'rpc: listener error'));
    return server.address() as AddressInfo;
  }

  /** The bound address, once listening. */
  address(): AddressInfo | undefined {
    return (this.server?.address() as AddressInfo | null) ?? undefined;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of this.connections) c.destroy('server closing');
    await closed;
  }

  private accept(socket: net.Socket, allow: RpcListenOptions['allow']): void {
    const remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    let allowed = true;
    if (allow) {
      try {
        allowed = allow(remoteAddress) === true;
      } catch (e) {
        allowed = false;
        this.logger.error({ peer: remoteAddress, err: String(e) }, 'rpc: allow-list callback threw; client refused');
      }
    }
    const conn = new Connection(socket, { remoteAddress, remotePort: socket.remotePort ?? 0, allowed }, this.dispatcher, this.options, this.receive, this.logger, () =>
      this.connections.delete(conn),
    );
    this.connections.add(conn);
  }
}

/** How connections receive records, shared by all of a server's. */
interface Receive {
  /** where large fragments are assembled; a record is given back once its reply is written */
  buffers: RecordBuffers;
  /**
   * where reads land when no large fragment is coming: shared, as each read is decoded (its
   * bytes copied out) before the next one, on any connection, is made
   */
  scratch: Buffer;
  readInto: boolean;
  dropped: (bytes: number) => void;
}

/** One TCP connection: decodes records, runs calls concurrently, writes replies, applies backpressure. */
class Connection {
  private readonly decoder: RecordDecoder;
  private readonly abort = new AbortController();
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFlight = 0;
  private inFlightBytes = 0;
  private paused = false;
  private ended = false;
  private closed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly peer: Peer,
    private readonly dispatcher: RpcDispatcher,
    private readonly settings: { maxRecordSize: number; maxFragments: number; maxInFlight: number; maxBufferedBytes: number; zeroCopy: boolean },
    private readonly receive: Receive,
    private readonly logger: RpcLogger,
    private readonly onClose: () => void,
  ) {
    this.decoder = new RecordDecoder({ maxRecordSize: settings.maxRecordSize, maxFragments: settings.maxFragments, buffers: receive.buffers });
    const { scratch } = receive;
    const direct =
      receive.readInto &&
      readInto(
        socket,
        () => this.decoder.readTarget() ?? scratch,
        (n, buf) => this.decode(() => (buf === scratch ? this.decoder.push(scratch.subarray(0, n), true) : this.decoder.filled(n))),
      );
    if (!direct) {
      socket.on('data', (chunk: Buffer) => {
        this.decode(() => this.decoder.push(chunk));
        receive.dropped(chunk.length);
      });
    }
    socket.resume();
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => this.pump());
    socket.on('error', (e) => this.logger.debug({ peer: peer.remoteAddress, err: String(e) }, 'rpc: socket error'));
    socket.on('close', () => {
      this.closed = true;
      this.abortCalls();
      this.onClose();
    });
  }

  destroy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.logger.debug({ peer: this.peer.remoteAddress, reason }, 'rpc: closing connection');
    this.socket.destroy();
    this.abortCalls();
  }

  /** Aborts the signal of calls still running; with none (most closes) the event is skipped. */
  private abortCalls(): void {
    if (this.inFlight > 0) this.abort.abort();
  }

  /** Bytes arrived: `decode` hands them to the decoder, which returns the records they complete. */
  private decode(decode: () => Buffer[]): void {
    if (this.closed) return;
    let records: Buffer[];
    try {
      records = decode();
    } catch (e) {
      this.destroy(e instanceof Error ? e.message : String(e));
      return;
    }
    for (const record of records) {
      this.pending.push(record);
      this.pendingBytes += record.length;
    }
    this.pump();
  }

  private onEnd(): void {
    this.ended = true;
    if (this.decoder.midRecord) this.destroy('end of stream inside a record');
    else this.pump();
  }

  /** Starts queued calls while limits allow, then pauses or resumes reading. */
  private pump(): void {
    if (this.closed) return;
    // Unsent replies above the budget hold back new calls too: a client that does
    // not read cannot make us compute more answers for it.
    while (this.pending.length > 0 && this.inFlight < this.settings.maxInFlight && this.socket.writableLength < this.settings.maxBufferedBytes) {
      const record = this.pending.shift()!;
      this.pendingBytes -= record.length;
      this.run(record);
    }
    if (this.ended) {
      if (this.inFlight === 0 && this.pending.length === 0) this.socket.end();
      return;
    }
    const buffered = this.pendingBytes + this.inFlightBytes + this.socket.writableLength + this.decoder.bufferedBytes;
    const full = this.inFlight >= this.settings.maxInFlight || buffered >= this.settings.maxBufferedBytes;
    if (full && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!full && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private run(record: Buffer): void {
    this.inFlight++;
    this.inFlightBytes += record.length;
    void this.execute(record)
      .catch((e: unknown) => {
        // execute() does not reject; if it ever does, lose the connection, not the process.
        this.logger.error({ peer: this.peer.remoteAddress, err: String(e) }, 'rpc: connection failed');
        this.destroy('internal error');
      });
  }

  private async execute(record: Buffer): Promise<void> {
    try {
      const outcome = await this.dispatcher.dispatch(record, this.peer, this.abort.signal);
      if (outcome.kind === 'close') {
        if (!this.closed) this.destroy(outcome.reason);
      } else if (this.closed) {
        outcome.sent?.();
      } else if (outcome.file) {
        const { chunks, file, sent } = outcome;
        try {
          writeWithFileTail(this.socket, chunks[0]!, file.tail, file.pad, this.settings.zeroCopy, sent);
        } catch (e) {
          this.logger.error({ peer: this.peer.remoteAddress, xid: outcome.xid, err: String(e) }, 'rpc: reading the data of a reply failed');
          this.destroy('reply data unreadable');
        }
      } else {
        // One writev for the header and the data it frames: no copy into one buffer.
        const { chunks, sent } = outcome;
        const last = chunks.length - 1;
        if (last > 0) this.socket.cork();
        for (let i = 0; i < last; i++) this.socket.write(chunks[i]!);
        // The callback runs once the kernel has the bytes, or the write failed.
        this.socket.write(chunks[last]!, sent ? () => sent() : undefined);
        if (last > 0) this.socket.uncork();
      }
    } finally {
      // The reply is built from what the handler copied out, never from views of the record.
      if (!this.receive.buffers.give(record)) this.receive.dropped(record.length);
      this.inFlight--;
      this.inFlightBytes -= record.length;
      this.pump();
    }
  }
}

/** '::ffff:10.0.0.1' → '10.0.0.1', so allow-lists can be written in IPv4. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}
