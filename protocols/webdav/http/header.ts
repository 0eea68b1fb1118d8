import type { IncomingMessage } from 'node:http';

/** A request header as one string (repeated headers joined with ', '), undefined if absent. */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
