import { MAX_IO, NFS3, NFS3_COOKIEVERFSIZE } from '../constants.js';
import { fileIdOf } from '../handles.js';
import { ListingPages, type ListingPage } from '../listing-pages.js';
import { idsOf, type NfsObject, type NfsState } from '../state.js';
import { FATTR3_SIZE, readFh, writeFattr, writePostOpAttr, type Fattr } from '../wire.js';
import type { EncodedEntry } from '../listed-entries.js';
import type { CallContext } from '../rpc/dispatcher.js';
import { XdrWriter } from '../xdr/writer.js';
import { checkListing, entriesAfter, opaqueSize, USED_BEFORE_ENTRIES, type ListedEntry } from './listing.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/**
 * READDIRPLUS3: entries with attributes and handles. `dircount` bounds the names,
 * fileids and cookies; `maxcount` the whole reply.
 */
export const readdirplus: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const cookie = args.readUhyper();
  const verf = Buffer.from(args.readFixedOpaque(NFS3_COOKIEVERFSIZE));
  const dircount = Math.min(args.readUint(), MAX_IO);
  const maxcount = Math.min(args.readUint(), MAX_IO);
  let dir: NfsObject | undefined;
  try {
    dir = await nfs.resolve(fh);
    checkListing(nfs, dir, cookie, verf);
    const { uid, gid } = idsOf(call);
    const pageKey = ListingPages.key(dir.key, cookie, dircount, maxcount, uid, gid);
    let page = nfs.pages.get(pageKey);
    if (!page) {
      const since = nfs.pages.generation;
      page = await listPage(nfs, dir, cookie, dircount, maxcount, call);
      if (!page) return reply(NFS3.ERR_TOOSMALL, (w) => writePostOpAttr(w, undefined));
      nfs.pages.set(pageKey, page, since);
    }
    const dirAttrs = await nfs.attrs(dir, call);
    const cookieVerf = nfs.cookieVerf;
    return reply(OK, (w) => {
      writePostOpAttr(w, dirAttrs);
      w.writeFixedOpaque(cookieVerf);
      w.writeRaw(page.entries);
      w.writeBool(false).writeBool(page.eof);
    });
  } catch (e) {
    const status = nfs.status(e, call);
    const attrs = dir ? await nfs.attrsAfter(dir, call) : undefined;
    return reply(status, (w) => writePostOpAttr(w, attrs));
  }
};

/** The entries after `cookie` that fit the counts, or undefined when not even one does (TOOSMALL). */
async function listPage(
  nfs: NfsState,
  dir: NfsObject,
  cookie: bigint,
  dircount: number,
  maxcount: number,
  call: CallContext,
): Promise<ListingPage | undefined> {
  let used = USED_BEFORE_ENTRIES;
  let dirUsed = 0;
  // An entry with a short name takes ~148 bytes (fattr3 84, handle ~28): ask for about as many as fit,
  // so a listing needs no more round trips than the client's maxcount forces.
  const estimate = Math.max(1, Math.min(Math.floor((maxcount - used) / 144), Math.floor(dircount / 24) || 1));
  const { items, more } = await entriesAfter(nfs, dir, cookie, estimate);
  const encoded = await encodeEntries(nfs, items, call);
  let fit = 0;
  for (const e of encoded) {
    if (used + e.bytes.length > maxcount || (dircount > 0 && dirUsed + e.dirBytes > dircount && fit > 0)) break;
    used += e.bytes.length;
    dirUsed += e.dirBytes;
    fit++;
  }
  if (fit === 0 && items.length > 0) return undefined;
  const entries = fit === 1 ? encoded[0]!.bytes : Buffer.concat(encoded.slice(0, fit).map((e) => e.bytes), used - USED_BEFORE_ENTRIES);
  return { entries, eof: !more && fit === items.length };
}

/**
 * Each item's entry3plus. Those the state remembers from an earlier listing (same Entry
 * object, so nothing committed since) are reused; the others get their attributes in one
 * go (view.getPropsOf), not per entry, and are remembered.
 */
async function encodeEntries(nfs: NfsState, items: readonly ListedEntry[], call: CallContext): Promise<EncodedEntry[]> {
  const out: EncodedEntry[] = new Array(items.length);
  const missing: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    // '.' and '..' show an Entry under another name: never remembered
    const have = it.name === it.entry.name ? nfs.encodedEntry(it.entry, call) : undefined;
    if (have) out[i] = have;
    else missing.push(i);
  }
  if (missing.length === 0) return out;
  const attrs = await nfs.attrsOfListing(missing.map((i) => items[i]!.entry), call);
  for (let k = 0; k < missing.length; k++) {
    const it = items[missing[k]!]!;
    const encoded = encodeEntry(it, attrs[k]!, await nfs.codec.encode(it.entry.key));
    out[missing[k]!] = encoded;
    if (it.name === it.entry.name) nfs.rememberEncoded(it.entry, call, encoded);
  }
  return out;
}

function encodeEntry(it: ListedEntry, attrs: Fattr, fh: Buffer): EncodedEntry {
  const nameBytes = Buffer.from(it.name, 'utf8');
  const w = new XdrWriter({ initialSize: 4 + 8 + opaqueSize(nameBytes.length) + 8 + 4 + FATTR3_SIZE + 4 + opaqueSize(fh.length) });
  w.writeBool(true).writeUhyper(fileIdOf(it.entry.key)).writeOpaque(nameBytes).writeUhyper(it.cookie);
  w.writeBool(true);
  writeFattr(w, attrs);
  w.writeBool(true).writeOpaque(fh);
  return { bytes: w.finish(), dirBytes: 8 + opaqueSize(nameBytes.length) + 8 };
}
