/**
 * Hard links and symbolic links made over NFS on one `marble serve` replicate to another:
 * b shows one file under both names (one ETag over WebDAV, one handle over NFS) and the
 * symbolic link as a link, and a write through the link and removing a name on b reach a.
 */
import t from 'tap';
import { eventually, get, startCluster, type Member } from '../helpers/cluster.js';
import { put, sha256 } from '../helpers/http.js';
import { RpcClient } from '../../protocols/nfs/rpc/index.js';
import { MOUNT_PROGRAM, NF3LNK, NF3REG, NFS_PROGRAM, NFS3, NFSPROC3 } from '../../protocols/nfs/constants.js';
import type { XdrReader, XdrWriter } from '../../protocols/nfs/xdr/index.js';
import { readAttr, SYS, writeSattr, type Attr } from '../unit/nfs/fixtures/nfs-harness.js';

/** An NFS v3 client on one member, mounted at its root. */
async function nfsOn(t: { teardown(fn: () => void): void }, m: Member) {
  const c = await RpcClient.connect(m.marble.nfsPort);
  t.teardown(() => c.close());
  const call = async (prog: number, proc: number, args: (w: XdrWriter) => void): Promise<{ status: number; r: XdrReader }> => {
    const rep = await c.call(prog, 3, proc, args, { cred: SYS });
    if (rep.stat !== 'SUCCESS') throw new Error(`RPC ${rep.stat}`);
    return { status: rep.results.readUint(), r: rep.results };
  };
  const mnt = await call(MOUNT_PROGRAM, 1, (w) => w.writeString('/'));
  if (mnt.status !== 0) throw new Error(`MNT: ${mnt.status}`);
  const root = Buffer.from(mnt.r.readOpaque(64));
  const ok = async (what: string, proc: number, args: (w: XdrWriter) => void) => {
    const { status, r } = await call(NFS_PROGRAM, proc, args);
    if (status !== NFS3.OK) throw new Error(`${what}: NFS status ${status}`);
    return r;
  };
  return {
    root,
    lookup: async (name: string) => Buffer.from((await ok(`LOOKUP ${name}`, NFSPROC3.LOOKUP, (w) => w.writeOpaque(root).writeString(name))).readOpaque(64)),
    getattr: async (fh: Buffer): Promise<Attr> => readAttr(await ok('GETATTR', NFSPROC3.GETATTR, (w) => w.writeOpaque(fh))),
    link: (fh: Buffer, name: string) => ok(`LINK ${name}`, NFSPROC3.LINK, (w) => w.writeOpaque(fh).writeOpaque(root).writeString(name)),
    symlink: (name: string, target: string) =>
      ok(`SYMLINK ${name}`, NFSPROC3.SYMLINK, (w) => {
        w.writeOpaque(root).writeString(name);
        writeSattr(w, {});
        w.writeString(target);
      }),
    readlink: async (fh: Buffer) => {
      const r = await ok('READLINK', NFSPROC3.READLINK, (w) => w.writeOpaque(fh));
      if (r.readBool()) readAttr(r);
      return r.readString(4096);
    },
    remove: (name: string) => ok(`REMOVE ${name}`, NFSPROC3.REMOVE, (w) => w.writeOpaque(root).writeString(name)),
  };
}

t.test('a hard link and a symbolic link made over NFS on a look the same on b', async (t) => {
  const cluster = await startCluster(t, ['a', 'b'], [['b', 'a']]);
  const [a, b] = [cluster.get('a'), cluster.get('b')];
  const body = Buffer.from('one file, two names\n');
  t.equal((await put(a.marble.webdav + 'file.txt', body)).status, 201);
  const na = await nfsOn(t, a);
  const fileOnA = await na.lookup('file.txt');
  await na.link(fileOnA, 'hard.txt');
  await na.symlink('sym', 'file.txt');
  t.equal((await na.getattr(fileOnA)).nlink, 2, 'a: nlink 2');

  await eventually('link and symlink on b', async () => (await get(b, 'hard.txt')).status === 200 && (await get(b, 'sym')).status === 200, 30_000, 50);
  const [f, h] = [await get(b, 'file.txt'), await get(b, 'hard.txt')];
  t.equal(h.sha256, sha256(body), 'b: the link name reads the file');
  t.equal(h.headers.etag, f.headers.etag, 'b: one ETag for both names');
  t.equal((await get(b, 'sym')).body.toString(), 'file.txt', 'b: over WebDAV a symbolic link is a file holding its target');

  const nb = await nfsOn(t, b);
  const [fileOnB, hardOnB, symOnB] = [await nb.lookup('file.txt'), await nb.lookup('hard.txt'), await nb.lookup('sym')];
  t.same(hardOnB, fileOnB, 'b: one handle for both names');
  const attrs = await nb.getattr(fileOnB);
  t.equal(attrs.type, NF3REG);
  t.equal(attrs.nlink, 2, 'b: nlink 2');
  t.equal((await nb.getattr(symOnB)).type, NF3LNK, 'b: the symbolic link is a link');
  t.equal(await nb.readlink(symOnB), 'file.txt');

  const edited = Buffer.from('written on b through the link\n');
  t.equal((await put(b.marble.webdav + 'hard.txt', edited)).status, 204, 'b: a PUT to the link path writes the file');
  await eventually('the edit on a under the first name', async () => (await get(a, 'file.txt')).sha256 === sha256(edited), 30_000, 50);
  await nb.remove('file.txt');
  await eventually('removal of the first name on a', async () => (await get(a, 'file.txt')).status === 404, 30_000, 50);
  t.equal((await get(a, 'hard.txt')).sha256, sha256(edited), 'a: the file lives on under the link name');
  t.equal((await na.getattr(fileOnA)).nlink, 1, "a: the file's handle is still valid, with one name");
});
