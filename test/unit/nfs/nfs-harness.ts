import { startNfs, type NfsOptions } from '../../../protocols/nfs/index.js';
import { MOUNT_PROGRAM, MOUNT_V3, NFS_PROGRAM, NFS_V3, NFSPROC3, NFS3 } from '../../../protocols/nfs/constants.js';
import { RpcClient, type Credential, type DecodedReply } from '../../../protocols/nfs/rpc/index.js';
import type { XdrReader, XdrWriter } from '../../../protocols/nfs/xdr/index.js';
import type { FileSystemView } from '../../../src/fs/types.js';
import { makeView, type Fixture } from '../fs/view-fixture.js';

/** fattr3 as the test client decodes it. */
export interface Attr {
  type: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  fileid: bigint;
  fsid: bigint;
  atime: [number, number];
  mtime: [number, number];
  ctime: [number, number];
}

export const SYS: Credential = { kind: 'sys', stamp: 1, machinename: 'test', uid: 1000, gid: 1000, gids: [] };

export function readAttr(r: XdrReader): Attr {
  const type = r.readUint();
  const mode = r.readUint();
  const nlink = r.readUint();
  const uid = r.readUint();
  const gid = r.readUint();
  const size = r.readUhyper();
  r.readUhyper(); // used
  r.readUint();
  r.readUint(); // rdev
  const fsid = r.readUhyper();
  const fileid = r.readUhyper();
  const t = (): [number, number] => [r.readUint(), r.readUint()];
  return { type, mode, nlink, uid, gid, size, fsid, fileid, atime: t(), mtime: t(), ctime: t() };
}

export function readPostOp(r: XdrReader): Attr | undefined {
  return r.readBool() ? readAttr(r) : undefined;
}

/** wcc_data: pre (size, mtime, ctime) and post attributes. */
export function readWcc(r: XdrReader): { pre?: { size: bigint; mtime: [number, number]; ctime: [number, number] }; post?: Attr } {
  const pre = r.readBool() ? { size: r.readUhyper(), mtime: [r.readUint(), r.readUint()] as [number, number], ctime: [r.readUint(), r.readUint()] as [number, number] } : undefined;
  const post = readPostOp(r);
  return { ...(pre ? { pre } : {}), ...(post ? { post } : {}) };
}

export function writeSattr(w: XdrWriter, s: { mode?: number; size?: bigint; mtime?: [number, number]; atime?: [number, number] } = {}): void {
  w.writeBool(s.mode !== undefined);
  if (s.mode !== undefined) w.writeUint(s.mode);
  w.writeBool(false).writeBool(false); // uid gid
  w.writeBool(s.size !== undefined);
  if (s.size !== undefined) w.writeUhyper(s.size);
  if (s.atime) w.writeUint(2).writeUint(s.atime[0]).writeUint(s.atime[1]);
  else w.writeUint(0);
  if (s.mtime) w.writeUint(2).writeUint(s.mtime[0]).writeUint(s.mtime[1]);
  else w.writeUint(0);
}

export interface Harness {
  fx: Fixture;
  view: FileSystemView;
  port: number;
  client: RpcClient;
  root: Buffer;
  /** An NFS v3 call; resolves with the results reader positioned after the status, and the status. */
  nfs(proc: number, args: (w: XdrWriter) => void, opts?: { xid?: number; client?: RpcClient }): Promise<{ status: number; r: XdrReader }>;
  mount(path: string, client?: RpcClient): Promise<{ status: number; fh?: Buffer; flavors?: number[] }>;
  lookup(dir: Buffer, name: string): Promise<Buffer>;
  create(dir: Buffer, name: string, content?: Buffer): Promise<Buffer>;
  mkdir(dir: Buffer, name: string): Promise<Buffer>;
  getattr(fh: Buffer): Promise<Attr>;
  write(fh: Buffer, offset: number, data: Buffer, stable?: number): Promise<{ status: number; count: number; committed: number; verf: Buffer }>;
  read(fh: Buffer, offset: number, count: number): Promise<{ status: number; data: Buffer; eof: boolean }>;
  commit(fh: Buffer): Promise<{ status: number; verf: Buffer }>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

function expectSuccess(rep: DecodedReply): XdrReader {
  if (rep.stat !== 'SUCCESS') throw new Error(`RPC ${rep.stat}`);
  return rep.results;
}

/** A real MarbleView over a temp data dir, served by startNfs on a loopback port, and a client. */
export async function nfsHarness(
  t: { teardown(fn: () => unknown): void },
  opts: Partial<NfsOptions> & { viewOverride?: (v: FileSystemView) => FileSystemView; skipMount?: boolean } = {},
): Promise<Harness> {
  // Registered before the view's own teardown, so the server stops (committing writes) before the store closes.
  let self: Harness | undefined;
  t.teardown(() => self?.close());
  const fx = makeView(t, { idleCommitMs: 60_000 });
  const view = opts.viewOverride ? opts.viewOverride(fx.view) : fx.view;
  let server = await startNfs({ host: '127.0.0.1', port: 0, writeIdleMs: 200, ...opts, view });
  const port = server.port;
  const client = await RpcClient.connect(port);
  let closed = false;
  const h: Harness = {
    fx,
    view,
    port,
    client,
    root: Buffer.alloc(0),
    async nfs(proc, args, o = {}) {
      const rep = await (o.client ?? h.client).call(NFS_PROGRAM, NFS_V3, proc, args, { cred: SYS, ...(o.xid !== undefined ? { xid: o.xid } : {}) });
      const r = expectSuccess(rep);
      return { status: r.readUint(), r };
    },
    async mount(path, c = h.client) {
      const r = expectSuccess(await c.call(MOUNT_PROGRAM, MOUNT_V3, 1, (w) => w.writeString(path), { cred: SYS }));
      const status = r.readUint();
      if (status !== 0) return { status };
      return { status, fh: Buffer.from(r.readOpaque(64)), flavors: r.readArray(16, (x) => x.readUint()) };
    },
    async lookup(dir, name) {
      const { status, r } = await h.nfs(NFSPROC3.LOOKUP, (w) => w.writeOpaque(dir).writeString(name));
      if (status !== NFS3.OK) throw new Error(`LOOKUP ${name}: ${status}`);
      return Buffer.from(r.readOpaque(64));
    },
    async create(dir, name, content) {
      const { status, r } = await h.nfs(NFSPROC3.CREATE, (w) => {
        w.writeOpaque(dir).writeString(name).writeUint(1);
        writeSattr(w, { mode: 0o644 });
      });
      if (status !== NFS3.OK) throw new Error(`CREATE ${name}: ${status}`);
      if (!r.readBool()) throw new Error('CREATE: no handle');
      const fh = Buffer.from(r.readOpaque(64));
      if (content) {
        const wr = await h.write(fh, 0, content, 2);
        if (wr.status !== NFS3.OK) throw new Error(`WRITE ${name}: ${wr.status}`);
      }
      return fh;
    },
    async mkdir(dir, name) {
      const { status, r } = await h.nfs(NFSPROC3.MKDIR, (w) => {
        w.writeOpaque(dir).writeString(name);
        writeSattr(w, { mode: 0o755 });
      });
      if (status !== NFS3.OK) throw new Error(`MKDIR ${name}: ${status}`);
      r.readBool();
      return Buffer.from(r.readOpaque(64));
    },
    async getattr(fh) {
      const { status, r } = await h.nfs(NFSPROC3.GETATTR, (w) => w.writeOpaque(fh));
      if (status !== NFS3.OK) throw new Error(`GETATTR: ${status}`);
      return readAttr(r);
    },
    async write(fh, offset, data, stable = 0) {
      const { status, r } = await h.nfs(NFSPROC3.WRITE, (w) => w.writeOpaque(fh).writeUhyper(BigInt(offset)).writeUint(data.length).writeUint(stable).writeOpaque(data));
      readWcc(r);
      if (status !== NFS3.OK) return { status, count: 0, committed: 0, verf: Buffer.alloc(0) };
      return { status, count: r.readUint(), committed: r.readUint(), verf: Buffer.from(r.readFixedOpaque(8)) };
    },
    async read(fh, offset, count) {
      const { status, r } = await h.nfs(NFSPROC3.READ, (w) => w.writeOpaque(fh).writeUhyper(BigInt(offset)).writeUint(count));
      readPostOp(r);
      if (status !== NFS3.OK) return { status, data: Buffer.alloc(0), eof: false };
      r.readUint();
      const eof = r.readBool();
      return { status, eof, data: Buffer.from(r.readOpaque(2 << 20)) };
    },
    async commit(fh) {
      const { status, r } = await h.nfs(NFSPROC3.COMMIT, (w) => w.writeOpaque(fh).writeUhyper(0n).writeUint(0));
      readWcc(r);
      return { status, verf: status === NFS3.OK ? Buffer.from(r.readFixedOpaque(8)) : Buffer.alloc(0) };
    },
    /** Stops the server (committing writes) and starts a new one on the same port and view. */
    async restart() {
      h.client.close();
      await server.close();
      server = await startNfs({ host: '127.0.0.1', port, writeIdleMs: 200, ...opts, view });
      h.client = await RpcClient.connect(port);
    },
    async close() {
      if (closed) return;
      closed = true;
      h.client.close();
      await server.close();
    },
  };
  self = h;
  if (opts.skipMount) return h;
  const m = await h.mount('/');
  if (!m.fh) throw new Error(`MNT / failed: ${m.status}`);
  h.root = m.fh;
  return h;
}
