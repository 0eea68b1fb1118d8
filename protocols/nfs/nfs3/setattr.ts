import { nowNs } from '../../../src/core/model.js';
import { NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import { PROP } from '../state.js';
import { readFh, readSattr, readTime, wccOf, writeWcc, type Fattr } from '../wire.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/**
 * SETATTR3: size (through the file's write session, committed before we answer),
 * mode and mtime (view.setMeta), atime (kept as a property: the tree has none).
 * uid/gid are accepted and ignored: one user owns everything. The guard compares
 * the ctime the client saw with ours: NFS3ERR_NOT_SYNC when they differ.
 */
export const setattr: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const sattr = readSattr(args);
  const guard = args.readBool() ? readTime(args) : undefined;
  let before: Fattr | undefined;
  let obj;
  try {
    obj = await nfs.resolve(fh);
    before = await nfs.attrs(obj, call);
    if (guard !== undefined && guard !== before.ctimeNs) throw new NfsError(NFS3.ERR_NOT_SYNC, 'ctime guard does not match');
    if (sattr.size !== undefined) {
      if (obj.entry.isDir) throw new NfsError(NFS3.ERR_ISDIR, `${obj.path}: is a folder`);
      if (sattr.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new NfsError(NFS3.ERR_FBIG, 'size too large');
      // The size it already has, with no writes pending (nfs-cp truncates every file it
      // creates): nothing to do; truncating would open, fsync and discard a working copy.
      if (BigInt(obj.entry.size) !== sattr.size || nfs.writes.isDirty(obj.key)) {
        await nfs.checkGrowth(obj, Number(sattr.size));
        await nfs.writes.truncate(obj.key, obj.path, Number(sattr.size));
        await nfs.writes.commit(obj.key);
      }
    }
    if (sattr.mode !== undefined || sattr.mtime !== undefined) {
      const meta: { mode?: number; mtimeNs?: bigint } = {};
      if (sattr.mode !== undefined) meta.mode = sattr.mode & 0o7777;
      if (sattr.mtime !== undefined) meta.mtimeNs = sattr.mtime === 'server' ? nowNs() : sattr.mtime;
      if (nfs.writes.isDirty(obj.key)) await nfs.writes.commit(obj.key); // an mtime set now must not be overtaken by older writes
      await nfs.view.setMeta(obj.path, meta);
    }
    if (sattr.atime !== undefined) {
      const atimeNs = sattr.atime === 'server' ? nowNs() : sattr.atime;
      await nfs.view.patchProps(obj.path, new Map([[PROP.atime, atimeNs.toString()]]), []);
      nfs.noteMeta(obj.key, { atimeNs });
    }
    const after = await nfs.attrsAfter(obj, call);
    const pre = wccOf(before);
    return reply(OK, (w) => writeWcc(w, pre, after));
  } catch (e) {
    const status = nfs.status(e, call);
    const after = obj ? await nfs.attrsAfter(obj, call) : undefined;
    const pre = wccOf(before);
    return reply(status, (w) => writeWcc(w, pre, after));
  }
};
