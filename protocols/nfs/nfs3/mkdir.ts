import { readFh, readName, readSattr } from '../wire.js';
import { createdReply, createFailed, DirWcc, type NfsProcedure } from './procedure.js';
import { applyCreateAttrs } from './sattr.js';

/** MKDIR3. */
export const mkdir: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const name = readName(args);
  const sattr = readSattr(args);
  let wcc: DirWcc | undefined;
  try {
    const dir = await nfs.resolve(fh);
    wcc = await DirWcc.of(nfs, call, dir);
    const path = nfs.childPath(dir, name);
    await nfs.view.mkdir(path, sattr.mode !== undefined ? { mode: sattr.mode & 0o7777 } : {});
    let obj = await nfs.at(path);
    if (sattr.mtime !== undefined || sattr.atime !== undefined) {
      await applyCreateAttrs(nfs, obj, { ...sattr, size: undefined });
      obj = await nfs.refresh(obj);
    }
    return await createdReply(nfs, call, wcc, obj);
  } catch (e) {
    return createFailed(nfs, call, wcc, e);
  }
};
