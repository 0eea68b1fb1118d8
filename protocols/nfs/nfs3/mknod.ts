import { readFh, readName } from '../wire.js';
import { NFS3 } from '../constants.js';
import { DirWcc, reply, tryResolve, type NfsProcedure } from './procedure.js';

/** MKNOD3: the tree holds files and folders only, so devices, sockets and FIFOs are NOTSUPP. */
export const mknod: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  readName(args);
  // The rest (the node's type and attributes) does not matter for the answer.
  const dir = await tryResolve(nfs, fh, call);
  if (typeof dir === 'number') return reply(dir, (await DirWcc.of(nfs, call, undefined).then((d) => d.after())));
  const wcc = await DirWcc.of(nfs, call, dir);
  return reply(NFS3.ERR_NOTSUPP, await wcc.after());
};
