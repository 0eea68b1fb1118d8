import { HISTORY_DIR, SPLITS_DIR } from '../../../src/fs/paths.js';
import type { Entry } from '../../../src/fs/types.js';
import { COOKIE_DOT, COOKIE_DOTDOT } from '../cookies.js';
import { NFS3, NFS3_COOKIEVERFSIZE } from '../constants.js';
import { NfsError } from '../errors.js';
import { parentPath, type NfsObject, type NfsState } from '../state.js';
import { FATTR3_SIZE } from '../wire.js';

/** One directory entry as READDIR(PLUS) sends it. */
export interface ListedEntry {
  name: string;
  entry: Entry;
  cookie: bigint;
}

/** The folders the view shows at the root before the tree's own entries. */
const VIRTUAL_ROOT = new Set([HISTORY_DIR, SPLITS_DIR]);

/**
 * Up to `n` entries of `dir` after `cookie` ('.' and '..' first), in the view's name
 * order, and whether more follow. The call has passed {@link checkListing}.
 * @throws NfsError BAD_COOKIE for a cookie this server start did not hand out.
 */
export async function entriesAfter(nfs: NfsState, dir: NfsObject, cookie: bigint, n: number): Promise<{ items: ListedEntry[]; more: boolean }> {
  const items: ListedEntry[] = [];
  if (cookie === 0n) items.push({ name: '.', entry: dir.entry, cookie: COOKIE_DOT });
  if (cookie <= COOKIE_DOT) {
    const up = parentPath(dir.path);
    items.push({ name: '..', entry: up === dir.path ? dir.entry : await nfs.view.stat(up), cookie: COOKIE_DOTDOT });
  }
  let cursor: string | null = null;
  let skipThrough: string | undefined;
  if (cookie > COOKIE_DOTDOT) {
    const name = nfs.cookies.nameOf(dir.key, cookie);
    if (name === undefined) throw new NfsError(NFS3.ERR_BAD_COOKIE, `unknown cookie ${cookie}`);
    // The view prepends its virtual folders to the root's first page only: resume inside them by skipping.
    if (dir.path === '/' && VIRTUAL_ROOT.has(name)) skipThrough = name;
    else cursor = name;
  }
  for (;;) {
    if (items.length > n) break;
    const page = await nfs.view.list(dir.path, { cursor, limit: Math.min(1000, n + 2) });
    for (const entry of page.entries) {
      if (skipThrough !== undefined) {
        if (entry.name === skipThrough) skipThrough = undefined;
        continue;
      }
      items.push({ name: entry.name, entry, cookie: nfs.cookies.cookieFor(dir.key, entry.name) });
    }
    if (page.cursor === null) return { items: items.slice(0, n), more: items.length > n };
    cursor = page.cursor;
  }
  return { items: items.slice(0, n), more: true };
}

/**
 * What every READDIR(PLUS) call is checked for before its cookie is used.
 * @throws NfsError NOTDIR; BAD_COOKIE for a verifier from another server start.
 */
export function checkListing(nfs: NfsState, dir: NfsObject, cookie: bigint, verf: Buffer): void {
  if (!dir.entry.isDir) throw new NfsError(NFS3.ERR_NOTDIR, `${dir.path}: not a folder`);
  if (cookie !== 0n && !verf.equals(ZERO_VERF) && !verf.equals(nfs.cookieVerf)) throw new NfsError(NFS3.ERR_BAD_COOKIE, 'cookie verifier from another server start');
}

const ZERO_VERF = Buffer.alloc(NFS3_COOKIEVERFSIZE);

/** READDIR(PLUS) reply bytes besides the entries: status, post_op_attr of the folder, cookie verifier, end of list and eof. */
export const USED_BEFORE_ENTRIES = 4 + 4 + FATTR3_SIZE + NFS3_COOKIEVERFSIZE + 4 + 4;

/** XDR size of a string/opaque of `n` bytes. */
export function opaqueSize(n: number): number {
  return 4 + n + ((4 - (n & 3)) & 3);
}
