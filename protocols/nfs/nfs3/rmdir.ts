import { NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import { readFh, readName } from '../wire.js';
import { DirWcc, OK, reply, type NfsProcedure } from './procedure.js';

/** RMDIR3: an empty folder; NFS3ERR_NOTEMPTY otherwise. */
export const rmdir: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const name = readName(args);
  let wcc: DirWcc | undefined;
  try {
    const dir = await nfs.resolve(fh);
    wcc = await DirWcc.of(nfs, call, dir);
    const s = name.toString('utf8');
    if (s === '.') throw new NfsError(NFS3.ERR_INVAL, 'cannot remove "."');
    if (s === '..') throw new NfsError(NFS3.ERR_EXIST, 'cannot remove ".."');
    const path = nfs.childPath(dir, name);
    const entry = await nfs.view.stat(path);
    if (!entry.isDir) throw new NfsError(NFS3.ERR_NOTDIR, `${path}: not a folder`);
    await nfs.view.remove(path);
    nfs.forget(entry.key);
    return reply(OK, await wcc.after());
  } catch (e) {
    const status = nfs.status(e, call);
    return reply(status, await (wcc ?? (await DirWcc.of(nfs, call, undefined))).after());
  }
};
