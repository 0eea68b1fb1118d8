import type { Entry } from '../../src/fs/types.js';

/** One READDIRPLUS entry3plus as sent (value_follows through name_handle), and what it counts against dircount. */
export interface EncodedEntry {
  readonly bytes: Buffer;
  readonly dirBytes: number;
}

interface Remembered {
  encoded: EncodedEntry;
  uid: number;
  gid: number;
  /** the NFS properties the attributes were made from (compared by identity) */
  meta: object | undefined;
}

/**
 * READDIRPLUS entries as encoded, remembered per Entry object. The view hands out the same
 * Entry objects for a folder until its next commit, so a folder listed again unchanged is
 * copied rather than re-encoded: a 500-entry listing is ten pages of ~55 entries, each
 * with attributes, a handle, a 64-bit fileid and cookie. What the attributes take from
 * elsewhere (the caller's ids, NFS properties such as atime) must match too; the caller
 * does not remember entries with uncommitted writes.
 */
export class ListedEntries {
  private readonly byEntry = new WeakMap<Entry, Remembered>();

  get(entry: Entry, uid: number, gid: number, meta: object | undefined): EncodedEntry | undefined {
    const r = this.byEntry.get(entry);
    return r && r.uid === uid && r.gid === gid && r.meta === meta ? r.encoded : undefined;
  }

  set(entry: Entry, uid: number, gid: number, meta: object | undefined, encoded: EncodedEntry): void {
    this.byEntry.set(entry, { encoded, uid, gid, meta });
  }
}
