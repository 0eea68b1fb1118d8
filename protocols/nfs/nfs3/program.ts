import type { RpcHandler, RpcProgram } from '../rpc/dispatcher.js';
import { NFS3, NFS_V3, NFSPROC3 } from '../constants.js';
import { isXdrDecodeError } from '../xdr/errors.js';
import type { NfsState } from '../state.js';
import { access } from './access.js';
import { commit } from './commit.js';
import { create } from './create.js';
import { fsinfo } from './fsinfo.js';
import { fsstat } from './fsstat.js';
import { getattr } from './getattr.js';
import { link } from './link.js';
import { lookup } from './lookup.js';
import { mkdir } from './mkdir.js';
import { mknod } from './mknod.js';
import { nfsNull } from './null.js';
import { pathconf } from './pathconf.js';
import { nfsStatusOf, type NfsProcedure } from './procedure.js';
import { read } from './read.js';
import { readdir } from './readdir.js';
import { readdirplus } from './readdirplus.js';
import { readlink } from './readlink.js';
import { remove } from './remove.js';
import { rename } from './rename.js';
import { rmdir } from './rmdir.js';
import { setattr } from './setattr.js';
import { symlink } from './symlink.js';
import { write } from './write.js';

/** Every NFS v3 procedure (RFC 1813 §3.3), by number. */
export const NFS3_PROCEDURES: Readonly<Record<number, NfsProcedure>> = {
  [NFSPROC3.NULL]: nfsNull,
  [NFSPROC3.GETATTR]: getattr,
  [NFSPROC3.SETATTR]: setattr,
  [NFSPROC3.LOOKUP]: lookup,
  [NFSPROC3.ACCESS]: access,
  [NFSPROC3.READLINK]: readlink,
  [NFSPROC3.READ]: read,
  [NFSPROC3.WRITE]: write,
  [NFSPROC3.CREATE]: create,
  [NFSPROC3.MKDIR]: mkdir,
  [NFSPROC3.SYMLINK]: symlink,
  [NFSPROC3.MKNOD]: mknod,
  [NFSPROC3.REMOVE]: remove,
  [NFSPROC3.RMDIR]: rmdir,
  [NFSPROC3.RENAME]: rename,
  [NFSPROC3.LINK]: link,
  [NFSPROC3.READDIR]: readdir,
  [NFSPROC3.READDIRPLUS]: readdirplus,
  [NFSPROC3.FSSTAT]: fsstat,
  [NFSPROC3.FSINFO]: fsinfo,
  [NFSPROC3.PATHCONF]: pathconf,
  [NFSPROC3.COMMIT]: commit,
};

/** Calls whose repetition would not give the same answer: their replies go through the duplicate-request cache. */
export const NON_IDEMPOTENT: ReadonlySet<number> = new Set([
  NFSPROC3.SETATTR,
  NFSPROC3.CREATE,
  NFSPROC3.MKDIR,
  NFSPROC3.SYMLINK,
  NFSPROC3.MKNOD,
  NFSPROC3.REMOVE,
  NFSPROC3.RMDIR,
  NFSPROC3.RENAME,
  NFSPROC3.LINK,
]);

/**
 * Metrics hook: once per NFS call, with the procedure name (GETATTR, ...), the outcome (OK,
 * ERR_NOENT, ..., or the RPC-level GARBAGE_ARGS / SYSTEM_ERR) and the seconds it took.
 */
export type NfsCallHook = (procedure: string, status: string, seconds: number) => void;

const PROC_NAMES = new Map<number, string>(Object.entries(NFSPROC3).map(([name, n]) => [n, name]));
const STATUS_NAMES = new Map<number, string>(Object.entries(NFS3).map(([name, n]) => [n, name]));

/** The NFS program (100003, version 3) over shared state. */
export function nfsProgram(nfs: NfsState, onCall?: NfsCallHook): RpcProgram {
  const procedures: Record<number, RpcHandler> = {};
  for (const [num, proc] of Object.entries(NFS3_PROCEDURES)) {
    const p = Number(num);
    const handler: RpcHandler = NON_IDEMPOTENT.has(p)
      ? (args, call) => nfs.drc.run(call.remoteAddress, call.xid, p, async () => proc(args, call, nfs))
      : (args, call) => proc(args, call, nfs);
    procedures[p] = onCall ? timed(PROC_NAMES.get(p) ?? String(p), handler, onCall) : handler;
  }
  return { low: NFS_V3, high: NFS_V3, procedures };
}

function timed(name: string, handler: RpcHandler, onCall: NfsCallHook): RpcHandler {
  return async (args, call) => {
    const t0 = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
    try {
      const result = await handler(args, call);
      const body = typeof result === 'function' ? result : result.stat === 'SUCCESS' ? result.body : undefined;
      const status = body && nfsStatusOf(body);
      const rpcStat = typeof result === 'function' ? 'SUCCESS' : result.stat;
      onCall(name, body ? (status === undefined ? 'OK' : STATUS_NAMES.get(status) ?? String(status)) : rpcStat, seconds());
      return result;
    } catch (e) {
      onCall(name, isXdrDecodeError(e) ? 'GARBAGE_ARGS' : 'SYSTEM_ERR', seconds());
      throw e;
    }
  };
}
