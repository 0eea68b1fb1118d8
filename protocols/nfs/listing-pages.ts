/** The part of a READDIRPLUS reply that depends on the folder's entries: what follows the cookie verifier. */
export interface ListingPage {
  /** the entry3plus records that fit, as sent */
  readonly entries: Buffer;
  readonly eof: boolean;
}

/**
 * READDIRPLUS pages as answered, until anything they show may have changed. The owner calls
 * clear() on every commit of the view, when uncommitted NFS writes start, grow or end (their
 * size and time are shown), when NFS properties are set (atime), and when the cookie table
 * forgets a folder. A folder listed again with nothing changed in between then costs one
 * lookup per page, not a cookie, an Entry check and a copy per name. Right after 500 creates
 * (V8 has not optimized the per-name steps yet), each 500-entry listing after the first spent
 * 1.3-4.4 ms in READDIRPLUS handlers; with the pages kept, a whole listing's handlers 0.2-0.5 ms.
 *
 * Keyed by everything else a page depends on: folder, cookie, dircount, maxcount and the
 * caller's uid/gid (the owner shown). The folder's own attributes are not kept: they are
 * taken fresh for every reply.
 */
export class ListingPages {
  private readonly pages = new Map<string, ListingPage>();
  private cleared = 0;

  constructor(private readonly maxPages = 1024) {}

  static key(dirKey: string, cookie: bigint, dircount: number, maxcount: number, uid: number, gid: number): string {
    return `${dirKey}\n${cookie}\n${dircount}\n${maxcount}\n${uid}\n${gid}`;
  }

  get(key: string): ListingPage | undefined {
    return this.pages.get(key);
  }

  /** Changes on every clear(): pass its value from before a page was read to {@link set}. */
  get generation(): number {
    return this.cleared;
  }

  /** Keeps `page`, unless a clear() came since `generation` was read: it may show what changed meanwhile. */
  set(key: string, page: ListingPage, generation: number): void {
    if (generation !== this.cleared) return;
    if (this.pages.size >= this.maxPages) this.pages.clear();
    this.pages.set(key, page);
  }

  clear(): void {
    this.cleared++;
    if (this.pages.size) this.pages.clear();
  }
}
