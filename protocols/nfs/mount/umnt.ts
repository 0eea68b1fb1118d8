import type { CallContext, RpcHandlerResult } from '../rpc/dispatcher.js';
import type { XdrReader } from '../xdr/reader.js';
import { MNTPATHLEN } from '../constants.js';
import type { NfsState } from '../state.js';
import { exportPath } from './paths.js';

/** UMNT: forgets one mount of this client (for DUMP); nothing else depends on it. */
export function umnt(args: XdrReader, call: CallContext, nfs: NfsState): RpcHandlerResult {
  const dirpath = args.readString(MNTPATHLEN);
  try {
    nfs.mounts.delete(`${call.remoteAddress} ${exportPath(dirpath)}`);
  } catch {
    // a path that could never have been mounted: nothing to forget
  }
  return () => {};
}
