import type { RpcProgram } from '../rpc/dispatcher.js';
import { MOUNT_PROGRAM, MOUNT_V3, NFS_PROGRAM, NFS_V3, PORTMAP_PROGRAM, PORTMAP_V2 } from '../constants.js';

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const PMAPPROC = { NULL: 0, SET: 1, UNSET: 2, GETPORT: 3, DUMP: 4 } as const;

interface Mapping {
  prog: number;
  vers: number;
  prot: number;
  port: number;
}

/**
 * A read-only portmapper (program 100000 version 2, RFC 1833) for clients that cannot
 * be told ports (Windows): it knows MOUNT v3 and NFS v3 on `port` over TCP, and itself.
 * SET and UNSET are refused (false): nothing else registers here.
 */
export function portmapProgram(port: number, portmapPort: number): RpcProgram {
  const maps: Mapping[] = [
    { prog: PORTMAP_PROGRAM, vers: PORTMAP_V2, prot: IPPROTO_TCP, port: portmapPort },
    { prog: PORTMAP_PROGRAM, vers: PORTMAP_V2, prot: IPPROTO_UDP, port: portmapPort },
    { prog: NFS_PROGRAM, vers: NFS_V3, prot: IPPROTO_TCP, port },
    { prog: MOUNT_PROGRAM, vers: MOUNT_V3, prot: IPPROTO_TCP, port },
  ];
  return {
    low: PORTMAP_V2,
    high: PORTMAP_V2,
    procedures: {
      [PMAPPROC.NULL]: () => () => {},
      [PMAPPROC.SET]: () => (w) => w.writeBool(false),
      [PMAPPROC.UNSET]: () => (w) => w.writeBool(false),
      [PMAPPROC.GETPORT]: (args) => {
        const prog = args.readUint();
        const vers = args.readUint();
        const prot = args.readUint();
        args.readUint(); // port: ignored
        const m = maps.find((x) => x.prog === prog && x.vers === vers && x.prot === prot);
        return (w) => w.writeUint(m?.port ?? 0);
      },
      [PMAPPROC.DUMP]: () => (w) => {
        for (const m of maps) w.writeBool(true).writeUint(m.prog).writeUint(m.vers).writeUint(m.prot).writeUint(m.port);
        w.writeBool(false);
      },
    },
  };
}
