import { isFsError } from '../../../src/fs/errors.js';
import { NFS3 } from '../constants.js';
import { NfsError } from '../errors.js';
import { readFh, readName } from '../wire.js';
import type { NfsObject } from '../state.js';
import { DirWcc, OK, reply, type NfsProcedure } from './procedure.js';

/**
 * RENAME3 with POSIX semantics: the node keeps its id (and so its file handle); an
 * existing target is replaced if it is a file and the source is a file, or an empty
 * folder and the source is a folder.
 */
export const rename: NfsProcedure = async (args, call, nfs) => {
  const fromFh = readFh(args);
  const fromName = readName(args);
  const toFh = readFh(args);
  const toName = readName(args);
  let fromWcc: DirWcc | undefined;
  let toWcc: DirWcc | undefined;
  try {
    const fromDir = await nfs.resolve(fromFh);
    const toDir: NfsObject = toFh.equals(fromFh) ? fromDir : await nfs.resolve(toFh);
    fromWcc = await DirWcc.of(nfs, call, fromDir);
    toWcc = await DirWcc.of(nfs, call, toDir);
    const from = nfs.childPath(fromDir, fromName);
    const to = nfs.childPath(toDir, toName);
    const src = await nfs.view.stat(from);
    const dst = await nfs.view.stat(to).catch((e: unknown) => {
      if (isFsError(e, 'MARBLE_NOT_FOUND')) return undefined;
      throw e;
    });
    if (dst && dst.key !== src.key) {
      if (src.isDir && !dst.isDir) throw new NfsError(NFS3.ERR_NOTDIR, `${to}: not a folder`);
      if (!src.isDir && dst.isDir) throw new NfsError(NFS3.ERR_ISDIR, `${to}: is a folder`);
      if (dst.isDir && (await nfs.view.list(to, { limit: 1 })).entries.length) throw new NfsError(NFS3.ERR_NOTEMPTY, `${to}: folder is not empty`);
    }
    await nfs.view.rename(from, to, { overwrite: true });
    if (dst && dst.key !== src.key) await nfs.forgetIfGone(dst.key);
    const fw = await fromWcc.after();
    const tw = await toWcc.after();
    return reply(OK, (w) => {
      fw(w);
      tw(w);
    });
  } catch (e) {
    const status = nfs.status(e, call);
    const none = await DirWcc.of(nfs, call, undefined);
    const fw = await (fromWcc ?? none).after();
    const tw = await (toWcc ?? none).after();
    return reply(status, (w) => {
      fw(w);
      tw(w);
    });
  }
};
