import { NFS3_COOKIEVERFSIZE } from '../constants.js';
import { MAX_IO, NFS3 } from '../constants.js';
import { fileIdOf } from '../handles.js';
import type { NfsObject } from '../state.js';
import { readFh, writePostOpAttr } from '../wire.js';
import { checkListing, entriesAfter, opaqueSize, USED_BEFORE_ENTRIES } from './listing.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/**
 * READDIR3: names, fileids and cookies, as many as fit in `count` bytes of reply.
 * Cookies stand for names (see cookies.ts), so they survive entries being added.
 */
export const readdir: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const cookie = args.readUhyper();
  const verf = Buffer.from(args.readFixedOpaque(NFS3_COOKIEVERFSIZE));
  const count = Math.min(args.readUint(), MAX_IO);
  let dir: NfsObject | undefined;
  try {
    dir = await nfs.resolve(fh);
    checkListing(nfs, dir, cookie, verf);
    let used = USED_BEFORE_ENTRIES;
    const { items, more } = await entriesAfter(nfs, dir, cookie, Math.max(1, Math.floor((count - used) / 24)));
    const out: Array<{ fileid: bigint; name: string; cookie: bigint }> = [];
    for (const it of items) {
      const size = 4 + 8 + opaqueSize(Buffer.byteLength(it.name)) + 8;
      if (used + size > count) break;
      used += size;
      out.push({ fileid: fileIdOf(it.entry.key), name: it.name, cookie: it.cookie });
    }
    if (out.length === 0 && items.length > 0) return reply(NFS3.ERR_TOOSMALL, (w) => writePostOpAttr(w, undefined));
    const eof = !more && out.length === items.length;
    const attrs = await nfs.attrs(dir, call);
    const cookieVerf = nfs.cookieVerf;
    return reply(OK, (w) => {
      writePostOpAttr(w, attrs);
      w.writeFixedOpaque(cookieVerf);
      for (const e of out) w.writeBool(true).writeUhyper(e.fileid).writeString(e.name).writeUhyper(e.cookie);
      w.writeBool(false).writeBool(eof);
    });
  } catch (e) {
    const status = nfs.status(e, call);
    const attrs = dir ? await nfs.attrsAfter(dir, call) : undefined;
    return reply(status, (w) => writePostOpAttr(w, attrs));
  }
};
