import { CREATE_EXCLUSIVE, CREATE_GUARDED, CREATE_UNCHECKED, NFS3, NFS3_CREATEVERFSIZE } from '../constants.js';
import { NfsError } from '../errors.js';
import { PROP, type NfsObject } from '../state.js';
import { readFh, readName, readSattr, type Sattr } from '../wire.js';
import { createdReply, createFailed, DirWcc, type NfsProcedure } from './procedure.js';
import { applyCreateAttrs } from './sattr.js';

const MODES = new Set([CREATE_UNCHECKED, CREATE_GUARDED, CREATE_EXCLUSIVE]);

/**
 * CREATE3. UNCHECKED opens an existing file (truncating it if size 0 is asked);
 * GUARDED fails with NFS3ERR_EXIST if the name is taken; EXCLUSIVE stores the
 * client's verifier as a property of the new file, so a retransmitted EXCLUSIVE
 * create (same verifier) finds it and succeeds, while a different one gets EXIST.
 */
export const create: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const name = readName(args);
  const how = args.readEnum(MODES);
  let sattr: Sattr = {};
  let verf: string | undefined;
  if (how === CREATE_EXCLUSIVE) verf = args.readFixedOpaque(NFS3_CREATEVERFSIZE).toString('hex');
  else sattr = readSattr(args);
  let wcc: DirWcc | undefined;
  try {
    const dir = await nfs.resolve(fh);
    wcc = await DirWcc.of(nfs, call, dir);
    const path = nfs.childPath(dir, name);
    let obj: NfsObject;
    if (verf !== undefined) {
      try {
        await nfs.view.createFile(path, { exclusive: true });
        await nfs.view.patchProps(path, new Map([[PROP.createVerifier, verf]]), []);
      } catch (e) {
        const existing = await nfs.view.getProps(path).catch(() => undefined);
        if (existing?.get(PROP.createVerifier) !== verf) throw e;
      }
      obj = await nfs.at(path);
    } else {
      const entry = await nfs.view.createFile(path, {
        exclusive: how === CREATE_GUARDED,
        ...(sattr.mode !== undefined ? { mode: sattr.mode & 0o7777 } : {}),
      });
      if (entry.isDir) throw new NfsError(NFS3.ERR_ISDIR, `${path}: is a folder`);
      obj = await nfs.at(path);
      await applyCreateAttrs(nfs, obj, sattr);
      obj = await nfs.refresh(obj);
    }
    return await createdReply(nfs, call, wcc, obj);
  } catch (e) {
    return createFailed(nfs, call, wcc, e);
  }
};
