import type { CallContext, RpcHandlerResult } from '../rpc/dispatcher.js';
import type { NfsState } from '../state.js';

/** UMNTALL: forgets every mount of this client. */
export function umntall(call: CallContext, nfs: NfsState): RpcHandlerResult {
  for (const m of [...nfs.mounts]) if (m.startsWith(`${call.remoteAddress} `)) nfs.mounts.delete(m);
  return () => {};
}
