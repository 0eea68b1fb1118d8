import type { RpcHandler, RpcProgram } from '../rpc/dispatcher.js';
import { NFS_V3, NFSPROC3 } from '../constants.js';
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
import type { NfsProcedure } from './procedure.js';
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

/** The NFS program (100003, version 3) over shared state. */
export function nfsProgram(nfs: NfsState): RpcProgram {
  const procedures: Record<number, RpcHandler> = {};
  for (const [num, proc] of Object.entries(NFS3_PROCEDURES)) {
    const p = Number(num);
    procedures[p] = NON_IDEMPOTENT.has(p)
      ? (args, call) => nfs.drc.run(call.remoteAddress, call.xid, p, async () => proc(args, call, nfs))
      : (args, call) => proc(args, call, nfs);
  }
  return { low: NFS_V3, high: NFS_V3, procedures };
}
