import { readFh, wccOf, writeWcc, type Fattr } from '../wire.js';
import type { NfsObject } from '../state.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/**
 * COMMIT3: the file's write session becomes one change, and the log is fsynced, before we answer.
 * The whole file is committed whatever range is asked (a session is one change).
 */
export const commit: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  args.readUhyper(); // offset
  args.readUint(); // count
  let obj: NfsObject | undefined;
  let before: Fattr | undefined;
  try {
    obj = await nfs.resolve(fh);
    before = await nfs.attrs(obj, call);
    await nfs.writes.commitStable(obj.key);
    const after = await nfs.attrsAfter(obj, call);
    const pre = wccOf(before);
    const verf = nfs.writeVerf;
    return reply(OK, (w) => {
      writeWcc(w, pre, after);
      w.writeFixedOpaque(verf);
    });
  } catch (e) {
    const status = nfs.status(e, call);
    const after = obj ? await nfs.attrsAfter(obj, call) : undefined;
    const pre = wccOf(before);
    return reply(status, (w) => writeWcc(w, pre, after));
  }
};
