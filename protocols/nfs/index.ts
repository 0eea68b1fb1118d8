import dgram from 'node:dgram';
import { droppedBuffers } from '../../src/core/buffer-gc.js';
import type { FileSystemView } from '../../src/fs/types.js';
import { allowList } from './allow.js';
import { MOUNT_PROGRAM, NFS_PROGRAM, PORTMAP_PROGRAM } from './constants.js';
import { mountProgram } from './mount/program.js';
import { nfsProgram, type NfsCallHook } from './nfs3/program.js';
import { portmapProgram } from './portmap/program.js';
import { RpcDispatcher, silentLogger, type RpcLogger } from './rpc/dispatcher.js';
import { normalizeAddress, RpcServer } from './rpc/server.js';
import { NfsState, type NfsStateOptions } from './state.js';

export interface NfsOptions extends NfsStateOptions {
  view: FileSystemView;
  host: string;
  /** MOUNT and NFS share this TCP port; 0 picks a free one */
  port: number;
  /** client addresses or CIDRs served; default loopback only (127.0.0.0/8, ::1) */
  allow?: string[];
  /** also run a portmapper (program 100000 v2, TCP and UDP) on portmapPort */
  portmap?: boolean;
  /** default 111 (privileged: needs root or CAP_NET_BIND_SERVICE) */
  portmapPort?: number;
  logger?: RpcLogger & { info?(obj: object, msg: string): void };
  /** Metrics hook: called once per NFS call (not MOUNT) with procedure, status and seconds. */
  onCall?: NfsCallHook;
}

export type { NfsCallHook };

export interface NfsServerHandle {
  readonly port: number;
  /** the portmapper's port, when one runs */
  readonly portmapPort: number | undefined;
  /** Stops listening, commits open writes, closes read handles. */
  close(): Promise<void>;
}

/**
 * Serves the view over NFS v3 and MOUNT v3 on one TCP port (RFC 1813), exporting `/`
 * (with /.history and /.splits inside, read-only). Clients outside `allow` get
 * MNT3ERR_ACCES from MNT and AUTH_ERROR from NFS.
 * @throws Error on a bad allow entry or when a port cannot be bound.
 */
export async function startNfs(opts: NfsOptions): Promise<NfsServerHandle> {
  const logger: NonNullable<NfsOptions['logger']> = opts.logger ?? silentLogger;
  const allow = allowList(opts.allow);
  const nfs = new NfsState(opts.view, logger, opts);
  // Requests not received into reused buffers die young: see buffer-gc.ts.
  const server = new RpcServer({ logger, onRecordDropped: droppedBuffers });
  server.register(NFS_PROGRAM, nfsProgram(nfs, opts.onCall));
  server.register(MOUNT_PROGRAM, mountProgram(nfs, opts.allow ?? []));
  const address = await server.listen({ host: opts.host, port: opts.port, allow });
  const port = address.port;

  let pmap: { tcp: RpcServer; udp: dgram.Socket; port: number } | undefined;
  if (opts.portmap) {
    try {
      pmap = await startPortmap(opts.host, opts.portmapPort ?? 111, port, allow, logger);
      server.register(PORTMAP_PROGRAM, portmapProgram(port, pmap.port));
    } catch (e) {
      await server.close();
      throw e;
    }
  }
  logger.info?.({ host: opts.host, port, portmap: pmap?.port }, 'nfs: listening');
  return {
    port,
    portmapPort: pmap?.port,
    async close() {
      if (pmap) {
        await pmap.tcp.close();
        await new Promise<void>((resolve) => pmap!.udp.close(() => resolve()));
      }
      await server.close();
      await nfs.close();
    },
  };
}

async function startPortmap(host: string, want: number, nfsPort: number, allow: (a: string) => boolean, logger: RpcLogger) {
  const tcp = new RpcServer({ logger, maxRecordSize: 64 * 1024 });
  const bound = await tcp.listen({ host, port: want, allow });
  const program = portmapProgram(nfsPort, bound.port);
  tcp.register(PORTMAP_PROGRAM, program);
  // Windows asks the portmapper over UDP: one datagram is one record, no record marking.
  const dispatcher = new RpcDispatcher({ logger, maxReplySize: 8192 });
  dispatcher.register(PORTMAP_PROGRAM, program);
  const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => {
    const remoteAddress = normalizeAddress(rinfo.address);
    const peer = { remoteAddress, remotePort: rinfo.port, allowed: allow(remoteAddress) };
    void dispatcher.dispatch(msg, peer, new AbortController().signal).then((out) => {
      if (out.kind === 'reply') udp.send(out.record.subarray(4), rinfo.port, rinfo.address);
    });
  });
  udp.on('error', (e) => logger.warn({ err: String(e) }, 'nfs: portmap UDP error'));
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(bound.port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await tcp.close();
    throw e;
  }
  return { tcp, udp, port: bound.port };
}
