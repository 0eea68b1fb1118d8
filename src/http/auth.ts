import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface HttpAuth {
  /** Bearer token (--api-token / MARBLE_API_TOKEN / config apiToken). */
  readonly token?: string;
  /** Checks a Basic name and password against the WebDAV users. */
  readonly checkUser?: (name: string, password: string) => boolean;
}

/** Routes that stay open: liveness for orchestrators; /peer is a WebSocket upgrade, authenticated by keys. */
const OPEN = new Set(['/health']);
const CACHE_MAX = 64;

/**
 * When the API listens beyond loopback every route but /health needs a Bearer token or
 * a WebDAV user's Basic credentials; with neither configured nothing is let in (401
 * says what to set). Verified Basic credentials are remembered (by hash) so a polling
 * status page does not pay a scrypt per request.
 */
export function installAuth(app: FastifyInstance, auth: HttpAuth): void {
  const token = auth.token ? digest(auth.token) : null;
  const good = new Set<string>();
  const schemes = [token ? 'Bearer' : '', auth.checkUser ? 'Basic' : ''].filter(Boolean);
  const allowed = (req: FastifyRequest): boolean => {
    const header = req.headers.authorization ?? '';
    const sp = header.indexOf(' ');
    const scheme = header.slice(0, sp).toLowerCase();
    const value = header.slice(sp + 1).trim();
    if (sp < 0 || !value) return false;
    if (scheme === 'bearer' && token) return timingSafeEqual(digest(value), token);
    if (scheme === 'basic' && auth.checkUser) {
      const key = digest(header).toString('base64');
      if (good.has(key)) return true;
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0 || !auth.checkUser(decoded.slice(0, colon), decoded.slice(colon + 1))) return false;
      if (good.size >= CACHE_MAX) good.clear();
      good.add(key);
      return true;
    }
    return false;
  };
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?', 1)[0]!;
    if (OPEN.has(path) || allowed(req)) return;
    if (auth.checkUser) reply.header('www-authenticate', 'Basic realm="Marble Synch", charset="UTF-8"');
    else if (token) reply.header('www-authenticate', 'Bearer realm="Marble Synch"');
    const message = schemes.length
      ? `authentication required: send Authorization: ${schemes.join(' or ')} (${schemes.includes('Bearer') ? 'the API token' : ''}${schemes.length === 2 ? ', or ' : ''}${schemes.includes('Basic') ? 'a WebDAV user' : ''})`
      : 'this API listens beyond loopback and no credentials are configured: set --api-token (MARBLE_API_TOKEN) or --users';
    return reply.code(401).send({ error: 'MARBLE_UNAUTHORIZED', message });
  });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
