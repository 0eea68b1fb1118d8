import { NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import { readFh, readName } from '../wire.js';
import { DirWcc, OK, reply, type NfsProcedure } from './procedure.js';

/** REMOVE3: a file (folders go through RMDIR). Its versions stay in /.history. */
export const remove: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const name = readName(args);
  let wcc: DirWcc | undefined;
  try {
    const dir = await nfs.resolve(fh);
    wcc = await DirWcc.of(nfs, call, dir);
    const path = nfs.childPath(dir, name);
    const entry = await nfs.view.stat(path);
    if (entry.isDir) throw new NfsError(NFS3.ERR_ISDIR, `${path}: is a folder (use RMDIR)`);
    await nfs.view.remove(path);
    nfs.forget(entry.key);
    return reply(OK, await wcc.after());
  } catch (e) {
    const status = nfs.status(e, call);
    return reply(status, await (wcc ?? (await DirWcc.of(nfs, call, undefined))).after());
  }
};
