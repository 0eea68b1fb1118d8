import { ACCESS3 } from '../constants.js';
import { readFh, writePostOpAttr } from '../wire.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

const ALL = ACCESS3.READ | ACCESS3.LOOKUP | ACCESS3.MODIFY | ACCESS3.EXTEND | ACCESS3.DELETE | ACCESS3.EXECUTE;
const WRITE = ACCESS3.MODIFY | ACCESS3.EXTEND | ACCESS3.DELETE;

/**
 * ACCESS3: one user owns everything, so every caller may do what the view allows:
 * everything, except writing read-only entries (history, splits) and executing
 * files without an x bit.
 */
export const access: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  const asked = args.readUint();
  try {
    const obj = await nfs.resolve(fh);
    const attrs = await nfs.attrs(obj, call);
    let allowed = ALL;
    if (obj.entry.readOnly) allowed &= ~WRITE;
    if (!obj.entry.isDir) {
      allowed &= ~ACCESS3.LOOKUP;
      if ((attrs.mode & 0o111) === 0) allowed &= ~ACCESS3.EXECUTE;
    }
    return reply(OK, (w) => {
      writePostOpAttr(w, attrs);
      w.writeUint(asked & allowed);
    });
  } catch (e) {
    return reply(nfs.status(e, call), (w) => writePostOpAttr(w, undefined));
  }
};
