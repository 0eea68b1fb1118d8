import net from 'node:net';
import { XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';
import type { Credential, OpaqueAuth } from './auth.js';
import { decodeReply, encodeCall, type DecodedReply } from './message.js';
import { finishRecord, newRecordWriter, RecordDecoder } from './record.js';

/**
 * A minimal ONC RPC client over TCP for tests, benchmarks and tools (not used by
 * the server). Calls may be pipelined; replies are matched by xid.
 *
 * Contract: call() resolves with the decoded reply (for SUCCESS, `results` reads
 * from a record the client no longer touches). It rejects when the connection
 * closes or fails before the reply arrives, or when a reply is not well-formed
 * (which also closes the connection).
 */
export class RpcClient {
  private nextXid = (Math.random() * 0x7fff_ffff) >>> 0;
  private readonly waiting = new Map<number, { resolve: (r: DecodedReply) => void; reject: (e: Error) => void }>();
  private readonly decoder: RecordDecoder;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    maxRecordSize: number,
  ) {
    this.decoder = new RecordDecoder({ maxRecordSize });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(port: number, host = '127.0.0.1', maxRecordSize = 8 * 1024 * 1024): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, noDelay: true }, () => {
        socket.off('error', reject);
        resolve(new RpcClient(socket, maxRecordSize));
      });
      socket.once('error', reject);
    });
  }

  /** True once the connection has closed or failed. */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  call(
    prog: number,
    vers: number,
    proc: number,
    args?: (w: XdrWriter) => void,
    auth: { cred?: Credential; verf?: OpaqueAuth; xid?: number } = {},
  ): Promise<DecodedReply> {
    if (this.failure) return Promise.reject(this.failure);
    const xid = auth.xid ?? (this.nextXid = (this.nextXid + 1) >>> 0);
    const w = newRecordWriter();
    encodeCall(w, { xid, prog, vers, proc, ...(auth.cred ? { cred: auth.cred } : {}), ...(auth.verf ? { verf: auth.verf } : {}) }, args);
    return new Promise((resolve, reject) => {
      this.waiting.set(xid, { resolve, reject });
      this.socket.write(finishRecord(w));
    });
  }

  /** Sends raw bytes (for malformed-input tests). */
  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    try {
      for (const record of this.decoder.push(chunk)) {
        const reply = decodeReply(new XdrReader(record));
        const w = this.waiting.get(reply.xid);
        this.waiting.delete(reply.xid);
        w?.resolve(reply);
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
      this.socket.destroy();
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
