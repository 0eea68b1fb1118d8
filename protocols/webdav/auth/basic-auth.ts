import { createHash } from 'node:crypto';
import { verifyPassword } from './users.js';

/**
 * HTTP Basic authentication against the users map. Unlike webdav-server's
 * HTTPBasicAuthentication it accepts base64 with '+' or '/' and never cuts a password at its
 * first ':'. Credentials are never logged. Successful checks are remembered by a hash of the
 * header so scrypt runs once per client, not per request.
 */
const CACHE_LIMIT = 256;

export class BasicAuthentication {
  private readonly verified = new Map<string, string>();
  /** Headers of a 401 answer. */
  readonly challenge: Readonly<Record<string, string>>;

  constructor(
    private readonly users: ReadonlyMap<string, string>,
    realm = 'Marble Synch',
  ) {
    this.challenge = { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` };
  }

  /** The user name if the Authorization header carries valid credentials, else null. */
  check(header: string | undefined): string | null {
    if (header === undefined) return null;
    const key = createHash('sha256').update(header).digest('base64');
    const cached = this.verified.get(key);
    if (cached !== undefined) return cached;
    const m = /^\s*basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(header);
    if (!m) return null;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return null;
    const name = decoded.slice(0, colon);
    const secret = this.users.get(name);
    if (secret === undefined || !verifyPassword(decoded.slice(colon + 1), secret)) return null;
    if (this.verified.size >= CACHE_LIMIT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(key, name);
    return name;
  }
}
