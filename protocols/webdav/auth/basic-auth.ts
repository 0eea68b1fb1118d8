import { createHash } from 'node:crypto';
import { v2 as dav } from 'webdav-server';
import { verifyPassword } from './users.js';

/**
 * HTTP Basic authentication plugged into webdav-server's HTTPAuthentication slot. Replaces
 * the library's HTTPBasicAuthentication, which rejects base64 containing '+' or '/' and
 * truncates passwords at their first ':'. Credentials are never logged. Successful checks
 * are remembered by a hash of the header so scrypt runs once per client, not per request.
 */
const CACHE_LIMIT = 256;

export class BasicAuthentication implements dav.HTTPAuthentication {
  private readonly verified = new Map<string, string>();

  constructor(
    private readonly users: ReadonlyMap<string, string>,
    private readonly realm = 'Marble Synch',
  ) {}

  askForAuthentication(): { [headerName: string]: string } {
    return { 'WWW-Authenticate': `Basic realm="${this.realm}", charset="UTF-8"` };
  }

  getUser(ctx: dav.HTTPRequestContext, callback: (error: Error, user?: dav.IUser) => void): void {
    const header = ctx.request.headers.authorization;
    const name = header === undefined ? null : this.check(header);
    if (name === null) {
      callback(header === undefined ? dav.Errors.MissingAuthorisationHeader : dav.Errors.BadAuthentication);
      return;
    }
    callback(null as unknown as Error, { uid: name, username: name, isAdministrator: true, isDefaultUser: false });
  }

  /** The user name if the header carries valid credentials, else null. */
  check(header: string): string | null {
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

/** No authentication: every request acts as one anonymous user, and no challenge is sent. */
export class NoAuthentication implements dav.HTTPAuthentication {
  private static readonly anonymous: dav.IUser = { uid: 'anonymous', username: 'anonymous', isAdministrator: true, isDefaultUser: false };

  askForAuthentication(): { [headerName: string]: string } {
    return {};
  }

  getUser(_ctx: dav.HTTPRequestContext, callback: (error: Error, user?: dav.IUser) => void): void {
    callback(null as unknown as Error, NoAuthentication.anonymous);
  }
}
