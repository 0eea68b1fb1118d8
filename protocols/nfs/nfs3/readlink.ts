import { NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import { MAX_SYMLINK, type NfsObject } from '../state.js';
import { readFh, writePostOpAttr } from '../wire.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/** READLINK3: a symbolic link is a file flagged as one; its content is the target. */
export const readlink: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  let obj: NfsObject | undefined;
  try {
    obj = await nfs.resolve(fh);
    if (!obj.entry.symlink) throw new NfsError(NFS3.ERR_INVAL, `${obj.path}: not a symbolic link`);
    const size = Math.min(obj.entry.size, MAX_SYMLINK);
    const target = Buffer.alloc(size);
    const h = await nfs.view.openRead(obj.path);
    let n = 0;
    try {
      while (n < size) {
        const r = await h.read(target, n, size - n, n);
        if (r === 0) break;
        n += r;
      }
    } finally {
      await h.close();
    }
    const attrs = await nfs.attrs(obj, call);
    return reply(OK, (w) => {
      writePostOpAttr(w, attrs);
      w.writeOpaque(target.subarray(0, n));
    });
  } catch (e) {
    const status = nfs.status(e, call);
    const attrs = obj ? await nfs.attrsAfter(obj, call) : undefined;
    return reply(status, (w) => writePostOpAttr(w, attrs));
  }
};
