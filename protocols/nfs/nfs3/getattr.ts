import { readFh, writeFattr } from '../wire.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/** GETATTR3: fattr3 of one object. */
export const getattr: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  try {
    const obj = await nfs.resolve(fh);
    const attrs = await nfs.attrs(obj, call);
    return reply(OK, (w) => writeFattr(w, attrs));
  } catch (e) {
    return reply(nfs.status(e, call));
  }
};
