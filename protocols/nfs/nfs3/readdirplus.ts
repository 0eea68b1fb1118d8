import { MAX_IO, NFS3, NFS3_COOKIEVERFSIZE } from '../constants.js';
import { fileIdOf } from '../handles.js';
import type { NfsObject } from '../state.js';
import { FATTR3_SIZE, readFh, writeFattr, writePostOpAttr, type Fattr } from '../wire.js';
import { entriesAfter, opaqueSize } from './listing.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/**
 * READDIRPLUS3: entries with attributes and handles. `dircount` bounds the names,
 * fileids and cookies; `maxcount` the whole reply. Attributes of a page are fetched
 * in one go (view.getPropsOf), not per entry.
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
    let used = 4 + 4 + FATTR3_SIZE + NFS3_COOKIEVERFSIZE + 4 + 4;
    let dirUsed = 0;
    // An entry with a short name takes ~148 bytes (fattr3 84, handle ~28): ask for about as many as fit,
    // so a listing needs no more round trips than the client's maxcount forces.
    const estimate = Math.max(1, Math.min(Math.floor((maxcount - used) / 144), Math.floor(dircount / 24) || 1));
    const { items, more } = await entriesAfter(nfs, dir, cookie, verf, estimate);
    const attrs = await nfs.attrsOfListing(items.map((i) => i.entry), call);
    const out: Array<{ fileid: bigint; name: string; cookie: bigint; attrs: Fattr; fh: Buffer }> = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const fhi = await nfs.codec.encode(it.entry.key);
      const nameSize = 8 + opaqueSize(Buffer.byteLength(it.name)) + 8;
      const size = 4 + nameSize + 4 + FATTR3_SIZE + 4 + opaqueSize(fhi.length);
      if (used + size > maxcount || (dircount > 0 && dirUsed + nameSize > dircount && out.length > 0)) break;
      used += size;
      dirUsed += nameSize;
      out.push({ fileid: fileIdOf(it.entry.key), name: it.name, cookie: it.cookie, attrs: attrs[i]!, fh: fhi });
    }
    if (out.length === 0 && items.length > 0) return reply(NFS3.ERR_TOOSMALL, (w) => writePostOpAttr(w, undefined));
    const eof = !more && out.length === items.length;
    const dirAttrs = await nfs.attrs(dir, call);
    const cookieVerf = nfs.cookieVerf;
    return reply(OK, (w) => {
      writePostOpAttr(w, dirAttrs);
      w.writeFixedOpaque(cookieVerf);
      for (const e of out) {
        w.writeBool(true).writeUhyper(e.fileid).writeString(e.name).writeUhyper(e.cookie);
        w.writeBool(true);
        writeFattr(w, e.attrs);
        w.writeBool(true).writeOpaque(e.fh);
      }
      w.writeBool(false).writeBool(eof);
    });
  } catch (e) {
    const status = nfs.status(e, call);
    const attrs = dir ? await nfs.attrsAfter(dir, call) : undefined;
    return reply(status, (w) => writePostOpAttr(w, attrs));
  }
};
