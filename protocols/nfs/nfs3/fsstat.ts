import { readFh, writePostOpAttr } from '../wire.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/** Files are not counted by the store; report a large, stable number. */
const FILES = 1n << 32n;

/** FSSTAT3 from view.space(). */
export const fsstat: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  try {
    const obj = await nfs.resolve(fh);
    const attrs = await nfs.attrs(obj, call);
    const space = await nfs.view.space();
    const free = BigInt(Math.max(0, Math.floor(space.availableBytes)));
    const total = BigInt(Math.max(0, Math.floor(space.usedBytes))) + free;
    return reply(OK, (w) => {
      writePostOpAttr(w, attrs);
      w.writeUhyper(total).writeUhyper(free).writeUhyper(free);
      w.writeUhyper(FILES).writeUhyper(FILES).writeUhyper(FILES);
      w.writeUint(0); // invarsec: may change at any time
    });
  } catch (e) {
    return reply(nfs.status(e, call), (w) => writePostOpAttr(w, undefined));
  }
};
