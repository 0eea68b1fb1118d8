import { FILE_SYNC, MAX_IO, NFS3, UNSTABLE } from '../constants.js';
import { NfsError } from '../errors.js';
import { readFh, wccOf, writeWcc, type Fattr } from '../wire.js';
import type { NfsObject } from '../state.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

const STABLE = new Set([0, 1, 2]);

/**
 * WRITE3 into the file's write session (kept open across WRITEs). UNSTABLE writes are
 * committed by COMMIT or after a second without writes; DATA_SYNC and FILE_SYNC
 * commit before we answer (both answered FILE_SYNC: a commit makes data and
 * metadata durable together). The verifier changes on every server start.
 */
export const write: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const offset = args.readUhyper();
  const count = args.readUint();
  const stable = args.readEnum(STABLE);
  const data = args.readOpaque(2 * MAX_IO);
  let obj: NfsObject | undefined;
  let before: Fattr | undefined;
  try {
    obj = await nfs.resolve(fh);
    before = await nfs.attrs(obj, call);
    if (obj.entry.isDir) throw new NfsError(NFS3.ERR_ISDIR, `${obj.path}: is a folder`);
    const n = Math.min(count, data.length);
    if (offset + BigInt(n) > BigInt(Number.MAX_SAFE_INTEGER)) throw new NfsError(NFS3.ERR_FBIG, 'offset too large');
    await nfs.checkGrowth(obj, Number(offset) + n);
    await nfs.writes.write(obj.key, obj.path, obj.entry, Number(offset), data.subarray(0, n));
    let committed = UNSTABLE;
    if (stable !== UNSTABLE) {
      await nfs.writes.commitStable(obj.key);
      obj = await nfs.refresh(obj);
      committed = FILE_SYNC;
    }
    const after = await nfs.attrs(obj, call);
    const pre = wccOf(before);
    const verf = nfs.writeVerf;
    return reply(OK, (w) => {
      writeWcc(w, pre, after);
      w.writeUint(n).writeUint(committed).writeFixedOpaque(verf);
    });
  } catch (e) {
    const status = nfs.status(e, call);
    const after = obj ? await nfs.attrsAfter(obj, call) : undefined;
    const pre = wccOf(before);
    return reply(status, (w) => writeWcc(w, pre, after));
  }
};
