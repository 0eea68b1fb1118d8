import { NFS3 } from '../constants.js';
import { readFh, readName, writePostOpAttr } from '../wire.js';
import { DirWcc, reply, tryResolve, type NfsProcedure } from './procedure.js';

/**
 * LINK3: NOTSUPP. A hard link would be a second name for one node, and the replicated
 * tree gives each node exactly one parent and name (DESIGN §1); FSINFO says so too.
 */
export const link: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const dirFh = readFh(args);
  readName(args);
  const file = await tryResolve(nfs, fh, call);
  const dir = await tryResolve(nfs, dirFh, call);
  const attrs = typeof file === 'number' ? undefined : await nfs.attrs(file, call).catch(() => undefined);
  const wcc = await DirWcc.of(nfs, call, typeof dir === 'number' ? undefined : dir);
  const status = typeof file === 'number' ? file : typeof dir === 'number' ? dir : NFS3.ERR_NOTSUPP;
  const dirWcc = await wcc.after();
  return reply(status, (w) => {
    writePostOpAttr(w, attrs);
    dirWcc(w);
  });
};
