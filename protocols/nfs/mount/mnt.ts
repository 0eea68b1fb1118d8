import { AUTH_NONE, AUTH_SYS } from '../rpc/auth.js';
import type { CallContext, RpcHandlerResult } from '../rpc/dispatcher.js';
import type { XdrReader } from '../xdr/reader.js';
import { MNT3, MNTPATHLEN } from '../constants.js';
import { mountStatusOf } from '../errors.js';
import type { NfsState } from '../state.js';
import { writeFh } from '../wire.js';
import { exportPath } from './paths.js';

/**
 * MNT: the handle of the export root or any folder below it (libnfs mounts the folder
 * of its target). Clients outside the allow-list get MNT3ERR_ACCES.
 */
export async function mnt(args: XdrReader, call: CallContext, nfs: NfsState): Promise<RpcHandlerResult> {
  const dirpath = args.readString(MNTPATHLEN);
  if (!call.allowed) {
    nfs.logger.warn({ peer: call.remoteAddress, path: dirpath }, 'nfs: MNT refused: client not in the allow-list');
    return (w) => w.writeUint(MNT3.ERR_ACCES);
  }
  try {
    const path = exportPath(dirpath);
    const obj = await nfs.at(path);
    if (!obj.entry.isDir) return (w) => w.writeUint(MNT3.ERR_NOTDIR);
    nfs.mounts.add(`${call.remoteAddress} ${path}`);
    while (nfs.mounts.size > 1024) nfs.mounts.delete(nfs.mounts.values().next().value!);
    return (w) => {
      w.writeUint(MNT3.OK);
      writeFh(w, obj.fh);
      w.writeArray([AUTH_SYS, AUTH_NONE], (x, f) => x.writeUint(f));
    };
  } catch (e) {
    const status = mountStatusOf(e);
    if (status === null) {
      nfs.logger.error({ path: dirpath, err: String(e) }, 'nfs: MNT failed');
      return (w) => w.writeUint(MNT3.ERR_SERVERFAULT);
    }
    return (w) => w.writeUint(status);
  }
}
