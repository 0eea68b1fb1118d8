import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * After refusing a request whose body we will not read (413, 415, 501), keep reading and
 * discarding it for a short while instead of closing at once: closing a socket with unread
 * data makes the kernel send RST, and the client then loses our answer while it is still
 * sending (what a 100 MB PROPFIND would see). Bounded in time and bytes, never buffered.
 */
const LINGER_MS = 2000;
const LINGER_BYTES = 8 * 1024 * 1024;

export function discardBodyThenClose(req: IncomingMessage, res: ServerResponse): void {
  res.once('finish', () => {
    if (req.complete) return;
    let seen = 0;
    const stop = () => {
      clearTimeout(timer);
      req.socket.destroy();
    };
    const timer = setTimeout(stop, LINGER_MS);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > LINGER_BYTES) stop();
    });
    req.once('end', () => clearTimeout(timer));
    req.resume();
  });
}
