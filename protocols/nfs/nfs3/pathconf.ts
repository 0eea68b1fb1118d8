import { NFS_MAXNAMLEN } from '../constants.js';
import { readFh, writePostOpAttr } from '../wire.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/** PATHCONF3: hard links without a limit of our own (nlink is a uint32), 255-byte names refused (not truncated) beyond, case kept and significant. */
export const pathconf: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  try {
    const obj = await nfs.resolve(fh);
    const attrs = await nfs.attrs(obj, call);
    return reply(OK, (w) => {
      writePostOpAttr(w, attrs);
      w.writeUint(0xffff_ffff).writeUint(NFS_MAXNAMLEN); // linkmax, name_max
      w.writeBool(true).writeBool(true).writeBool(false).writeBool(true); // no_trunc chown_restricted case_insensitive case_preserving
    });
  } catch (e) {
    return reply(nfs.status(e, call), (w) => writePostOpAttr(w, undefined));
  }
};
