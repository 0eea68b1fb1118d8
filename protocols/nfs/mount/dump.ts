import type { RpcHandlerResult } from '../rpc/dispatcher.js';
import type { NfsState } from '../state.js';

/** DUMP: the mounts MNT recorded (client address, path), as a mountlist. */
export function dump(nfs: NfsState): RpcHandlerResult {
  const list = [...nfs.mounts].map((m) => {
    const at = m.indexOf(' ');
    return { host: m.slice(0, at), dir: m.slice(at + 1) };
  });
  return (w) => {
    for (const m of list) w.writeBool(true).writeString(m.host, 255).writeString(m.dir, 1024);
    w.writeBool(false);
  };
}
