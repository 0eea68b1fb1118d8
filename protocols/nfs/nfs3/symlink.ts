import { NFS_MAXPATHLEN } from '../constants.js';
import { readFh, readName, readSattr } from '../wire.js';
import { createdReply, createFailed, DirWcc, type NfsProcedure } from './procedure.js';

/**
 * SYMLINK3: a file whose content is the target, flagged as a symbolic link in the tree (the
 * flag replicates): over NFS it is a link, over WebDAV a file holding the target path (as
 * git does where symlinks are unavailable).
 */
export const symlink: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const name = readName(args);
  const sattr = readSattr(args);
  const target = Buffer.from(args.readOpaque(NFS_MAXPATHLEN));
  let wcc: DirWcc | undefined;
  try {
    const dir = await nfs.resolve(fh);
    wcc = await DirWcc.of(nfs, call, dir);
    const path = nfs.childPath(dir, name);
    await nfs.view.symlink(path, target, sattr.mode === undefined ? {} : { mode: sattr.mode });
    return await createdReply(nfs, call, wcc, await nfs.at(path));
  } catch (e) {
    return createFailed(nfs, call, wcc, e);
  }
};
