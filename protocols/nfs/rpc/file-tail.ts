import { readSync } from 'node:fs';
import type net from 'node:net';
import { native } from '../../../src/core/native.js';
import { ZERO_PAD } from './record.js';

/**
 * A reply's last bytes as a range of an open file (a READ's data): the transport sends them
 * straight from the page cache where it can (see {@link writeWithFileTail}), else reads them.
 */
export interface FileTail {
  /** open until the reply's `onSent` has run */
  readonly fd: number;
  readonly offset: number;
  readonly length: number;
}

/** `tail`'s bytes from `from` on, read now. @throws if the file cannot be read or ends early. */
export function readFileTail(tail: FileTail, from = 0): Buffer {
  const out = Buffer.allocUnsafe(tail.length - from);
  for (let got = 0; got < out.length; ) {
    const n = readSync(tail.fd, out, got, out.length - got, tail.offset + from + got);
    if (n === 0) throw new Error(`file ended ${out.length - got} bytes before the end of a reply's data`);
    got += n;
  }
  return out;
}

/**
 * Writes `head`, the bytes of `tail` and `pad` zero bytes on `socket`. When `zeroCopy` and
 * nothing is queued on the socket, they go from the page cache with sendfile, without
 * blocking (native sendRange), straight to the socket's descriptor: nothing else is being
 * written then, so the bytes stay in order. Whatever the kernel did not take (a full socket
 * buffer), or everything without that, is read and written through the socket as usual,
 * before this returns, so replies written after it follow it. `written` runs once `tail`'s
 * file is no longer needed.
 * @throws if the file cannot be read: part of the reply may be sent, so close the connection.
 */
export function writeWithFileTail(socket: net.Socket, head: Buffer, tail: FileTail, pad: number, zeroCopy: boolean, written?: () => void): void {
  const rest: Buffer[] = [];
  try {
    const fd = zeroCopy && socket.writableLength === 0 ? descriptorOf(socket) : undefined;
    const sent = fd === undefined ? 0 : native!.sendRange!(fd, head, tail.fd, tail.offset, tail.length, pad);
    if (sent < head.length) rest.push(sent ? head.subarray(sent) : head);
    const fromFile = Math.max(0, sent - head.length);
    if (fromFile < tail.length) rest.push(readFileTail(tail, fromFile));
    const padSent = Math.max(0, sent - head.length - tail.length);
    if (padSent < pad) rest.push(ZERO_PAD.subarray(0, pad - padSent));
  } catch (e) {
    written?.();
    throw e;
  }
  if (rest.length === 0) {
    written?.();
    return;
  }
  socket.cork();
  for (let i = 0; i < rest.length - 1; i++) socket.write(rest[i]!);
  socket.write(rest[rest.length - 1]!, () => written?.());
  socket.uncork();
}

/** The socket's file descriptor (Node's internal handle), where sendRange can use it. */
function descriptorOf(socket: net.Socket): number | undefined {
  if (!native?.sendRange) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
