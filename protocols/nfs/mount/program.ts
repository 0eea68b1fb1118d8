import type { RpcProgram } from '../rpc/dispatcher.js';
import { MOUNT_V3, MOUNTPROC3 } from '../constants.js';
import type { NfsState } from '../state.js';
import { dump } from './dump.js';
import { exportList } from './export.js';
import { mnt } from './mnt.js';
import { umnt } from './umnt.js';
import { umntall } from './umntall.js';

/**
 * The MOUNT program (100005, version 3). Registered with `acceptsRefused`, so a client
 * outside the allow-list gets MNT3ERR_ACCES from MNT rather than an RPC AUTH_ERROR.
 */
export function mountProgram(nfs: NfsState, groups: readonly string[]): RpcProgram {
  return {
    low: MOUNT_V3,
    high: MOUNT_V3,
    acceptsRefused: true,
    procedures: {
      [MOUNTPROC3.NULL]: () => () => {},
      [MOUNTPROC3.MNT]: (args, call) => mnt(args, call, nfs),
      [MOUNTPROC3.DUMP]: () => dump(nfs),
      [MOUNTPROC3.UMNT]: (args, call) => umnt(args, call, nfs),
      [MOUNTPROC3.UMNTALL]: (_args, call) => umntall(call, nfs),
      [MOUNTPROC3.EXPORT]: () => exportList(groups),
    },
  };
}
