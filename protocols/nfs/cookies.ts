import { createHash } from 'node:crypto';

/**
 * READDIR/READDIRPLUS cookies. The view lists a folder in name order and resumes after
 * a name, so a cookie stands for the name of the entry it follows: a 63-bit hash of the
 * name, remembered here per folder. Entries added or removed elsewhere in the folder do
 * not move it. Cookies 1 and 2 are '.' and '..'; 0 is the start.
 *
 * The table lives in memory (bounded, least recently used folders go first); it is
 * tied to the cookie verifier, which changes on every server start, so a client holding
 * a cookie from before a restart or an eviction gets NFS3ERR_BAD_COOKIE and restarts
 * the listing, as RFC 1813 intends.
 */
export const COOKIE_DOT = 1n;
export const COOKIE_DOTDOT = 2n;

export class CookieTable {
  private readonly dirs = new Map<string, Map<bigint, string>>();
  private names = 0;
  /** the folder last in the LRU order */
  private newest: string | undefined;

  constructor(
    private readonly maxNames = 500_000,
    /** called when a folder's cookies are forgotten: they are BAD_COOKIE from then on */
    private readonly onEvict: () => void = () => {},
  ) {}

  cookieFor(dirKey: string, name: string): bigint {
    let dir = this.dirs.get(dirKey);
    if (!dir) {
      dir = new Map();
      this.dirs.set(dirKey, dir);
    } else if (dirKey !== this.newest) {
      // to the end of the LRU order; a listing asks for many names of one folder in a row
      this.dirs.delete(dirKey);
      this.dirs.set(dirKey, dir);
    }
    this.newest = dirKey;
    const c = cookieOfName(name);
    if (!dir.has(c)) {
      dir.set(c, name);
      this.names++;
      this.evict(dirKey);
    }
    return c;
  }

  /** The name a cookie stands for, or undefined when unknown (BAD_COOKIE). */
  nameOf(dirKey: string, cookie: bigint): string | undefined {
    return this.dirs.get(dirKey)?.get(cookie);
  }

  private evict(keep: string): void {
    for (const [key, dir] of this.dirs) {
      if (this.names <= this.maxNames || key === keep) break;
      this.dirs.delete(key);
      this.names -= dir.size;
      this.onEvict();
    }
  }
}

/** name -> cookie, so listing a folder again does not rehash every name (bounded). */
const byName = new Map<string, bigint>();

function cookieOfName(name: string): bigint {
  let c = byName.get(name);
  if (c === undefined) {
    c = createHash('sha256').update(name).digest().readBigUInt64BE(0) >> 1n;
    if (c <= COOKIE_DOTDOT) c += 3n;
    if (byName.size >= 100_000) byName.clear();
    byName.set(name, c);
  }
  return c;
}
