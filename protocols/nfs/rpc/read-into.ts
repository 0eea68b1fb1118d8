import type net from 'node:net';

/**
 * Makes a socket receive into buffers its owner chooses, as `new net.Socket({ onread })`
 * does: `next()` names the buffer the next read fills, `received(n, buf)` gets each read
 * (`buf` holds `n` new bytes from its start and is the caller's again once it returns;
 * returning false pauses the socket like pause()). No 'data' events are emitted then.
 *
 * Node offers `onread` only to sockets it constructs with it, not to those a server
 * accepts. This sets up an accepted socket the way that constructor does, through the same
 * internal fields, found by name; where they are not (another Node), it returns false and
 * changes nothing, and the caller reads 'data' events as usual. Call it before the socket
 * reads anything: on a server created with `pauseOnConnect`, then resume().
 */
export function readInto(socket: net.Socket, next: () => Buffer, received: (n: number, buf: Buffer) => boolean | void): boolean {
  const fields = onreadFields(socket);
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })._handle;
  if (!fields || typeof handle?.useUserBuffer !== 'function') return false;
  const { buffer, callback, generator } = fields;
  const own = socket as unknown as Record<symbol, unknown>;
  if (own[buffer] !== null || own[callback] !== null || own[generator] !== null) return false;
  const first = next();
  own[buffer] = first;
  own[callback] = received;
  own[generator] = next;
  handle.useUserBuffer(first);
  return true;
}

interface OnreadFields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let found: OnreadFields | null | undefined;

/** Node's symbols for a socket's `onread` setup: the same for every socket, so looked up once. */
function onreadFields(socket: net.Socket): OnreadFields | null {
  if (found === undefined) {
    const byName = new Map(Object.getOwnPropertySymbols(socket).map((s) => [s.description, s]));
    const buffer = byName.get('kBuffer');
    const callback = byName.get('kBufferCb');
    const generator = byName.get('kBufferGen');
    found = buffer && callback && generator ? { buffer, callback, generator } : null;
  }
  return found;
}
