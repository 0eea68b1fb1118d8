import { MAX_IO, NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import { readFh, writePostOpAttr } from '../wire.js';
import type { NfsObject } from '../state.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/**
 * READ3 through a cached read handle. Uncommitted writes to the file are committed
 * first, so a client reads back what it wrote (the view shows writes once committed).
 */
export const read: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const offset = args.readUhyper();
  const count = Math.min(args.readUint(), MAX_IO);
  let obj: NfsObject | undefined;
  try {
    obj = await nfs.resolve(fh);
    if (obj.entry.isDir) throw new NfsError(NFS3.ERR_ISDIR, `${obj.path}: is a folder`);
    if (nfs.writes.isDirty(obj.key)) {
      await nfs.writes.commit(obj.key);
      obj = await nfs.refresh(obj);
    }
    const size = obj.entry.size;
    const start = offset > BigInt(size) ? size : Number(offset);
    const want = Math.min(count, size - start);
    const data = Buffer.allocUnsafe(want);
    let got = 0;
    if (want > 0) {
      got = await nfs.reads.use(obj.key, obj.path, obj.entry, async (h) => {
        let n = 0;
        while (n < want) {
          const r = await h.read(data, n, want - n, start + n);
          if (r === 0) break;
          n += r;
        }
        return n;
      });
    }
    const attrs = await nfs.attrs(obj, call);
    const eof = start + got >= size;
    const bytes = data.subarray(0, got);
    return reply(OK, (w) => {
      writePostOpAttr(w, attrs);
      w.writeUint(got).writeBool(eof).writeOpaque(bytes);
    });
  } catch (e) {
    const status = nfs.status(e, call);
    const attrs = obj ? await nfs.attrsAfter(obj, call) : undefined;
    return reply(status, (w) => writePostOpAttr(w, attrs));
  }
};
