import net from 'node:net';
import { XdrReader, XdrWriter } from '../../../protocols/nfs/xdr/index.js';
import { RecordDecoder, decodeReply, encodeCall, frameRecord, type CallHeader, type DecodedReply } from '../../../protocols/nfs/rpc/index.js';

/** Test helper: a raw TCP connection that collects decoded replies and notices closes. */
export class RawConn {
  readonly replies: DecodedReply[] = [];
  closed = false;
  private readonly decoder = new RecordDecoder({ maxRecordSize: 64 * 1024 * 1024 });
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const rec of this.decoder.push(chunk)) this.replies.push(decodeReply(new XdrReader(rec)));
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => {
        s.off('error', reject);
        resolve(new RawConn(s));
      });
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `n` replies have arrived in total or the connection closed; rejects after `ms`. */
  async waitFor(n: number, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.replies.length < n && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out: ${this.replies.length}/${n} replies, connection open`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A framed call record. */
export function callRecord(h: CallHeader, args?: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter();
  encodeCall(w, h, args);
  return frameRecord(w.finish());
}

/** The unframed call message. */
export function callMessage(h: CallHeader, args?: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter();
  encodeCall(w, h, args);
  return w.finish();
}
