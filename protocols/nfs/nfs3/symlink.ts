import { NFS_MAXPATHLEN } from '../constants.js';
import { PROP } from '../state.js';
import { readFh, readName, readSattr } from '../wire.js';
import { createdReply, createFailed, DirWcc, type NfsProcedure } from './procedure.js';

/**
 * SYMLINK3. The tree has no links, so a symbolic link is stored as a small file whose
 * content is the target, marked by a property: over NFS it is a link, over WebDAV a
 * file holding the target path (as git does where symlinks are unavailable).
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
    async function* body() {
      yield target;
    }
    await nfs.view.writeFile(path, body(), { mode: 'create', expectedSize: target.length });
    await nfs.view.patchProps(path, new Map([[PROP.symlink, '1']]), []);
    if (sattr.mode !== undefined) await nfs.view.setMeta(path, { mode: sattr.mode & 0o7777 });
    const obj = await nfs.at(path);
    nfs.noteMeta(obj.key, { link: true });
    return await createdReply(nfs, call, wcc, obj);
  } catch (e) {
    return createFailed(nfs, call, wcc, e);
  }
};
