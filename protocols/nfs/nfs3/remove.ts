import { NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import { readFh, readName } from '../wire.js';
import { DirWcc, OK, reply, type NfsProcedure } from './procedure.js';

/**
 * REMOVE and RMDIR: delete the named entry once `checkName` (before the lookup) and
 * `checkType` accept it (its versions stay in /.history), answering with the folder's
 * wcc_data either way.
 */
export function removeEntry(checkType: (path: string, isDir: boolean) => void, checkName: (name: string) => void = () => {}): NfsProcedure {
  return async (args, call, nfs) => {
    const fh = readFh(args);
    const name = readName(args);
    let wcc: DirWcc | undefined;
    try {
      const dir = await nfs.resolve(fh);
      wcc = await DirWcc.of(nfs, call, dir);
      checkName(name.toString('utf8'));
      const path = nfs.childPath(dir, name);
      const entry = await nfs.view.stat(path);
      checkType(path, entry.isDir);
      await nfs.view.remove(path);
      await nfs.forgetIfGone(entry.key);
      return reply(OK, await wcc.after());
    } catch (e) {
      const status = nfs.status(e, call);
      return reply(status, await (wcc ?? (await DirWcc.of(nfs, call, undefined))).after());
    }
  };
}

/** REMOVE3: a file (folders go through RMDIR). */
export const remove = removeEntry((path, isDir) => {
  if (isDir) throw new NfsError(NFS3.ERR_ISDIR, `${path}: is a folder (use RMDIR)`);
});
