import { FSF3_CANSETTIME, FSF3_HOMOGENEOUS, FSF3_LINK, FSF3_SYMLINK, MAX_IO } from '../constants.js';
import { readFh, writePostOpAttr } from '../wire.js';
import { OK, reply, type NfsProcedure } from './procedure.js';

/**
 * FSINFO3: 1 MiB reads and writes, nanosecond times, settable times, hard links and
 * symbolic links.
 */
export const fsinfo: NfsProcedure = async (args, call, nfs) => {
  const fh = readFh(args);
  try {
    const obj = await nfs.resolve(fh);
    const attrs = await nfs.attrs(obj, call);
    return reply(OK, (w) => {
      writePostOpAttr(w, attrs);
      w.writeUint(MAX_IO).writeUint(MAX_IO).writeUint(4096); // rtmax rtpref rtmult
      w.writeUint(MAX_IO).writeUint(MAX_IO).writeUint(4096); // wtmax wtpref wtmult
      w.writeUint(64 * 1024); // dtpref
      w.writeUhyper(BigInt(Number.MAX_SAFE_INTEGER)); // maxfilesize
      w.writeUint(0).writeUint(1); // time_delta: 1 ns
      w.writeUint(FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME);
    });
  } catch (e) {
    return reply(nfs.status(e, call), (w) => writePostOpAttr(w, undefined));
  }
};
