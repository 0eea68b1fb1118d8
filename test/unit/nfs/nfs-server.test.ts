import t from 'tap';
import { ContentUnavailable } from '../../../src/fs/errors.js';
import type { FileSystemView } from '../../../src/fs/types.js';
import { MOUNT_PROGRAM, MOUNT_V3, MNT3, NFS3, NFSPROC3, PORTMAP_PROGRAM } from '../../../protocols/nfs/constants.js';
import { packKey, unpackKey, fileIdOf } from '../../../protocols/nfs/handles.js';
import { allowList } from '../../../protocols/nfs/allow.js';
import { RpcClient } from '../../../protocols/nfs/rpc/index.js';
import { nfsHarness, readWcc, SYS } from './fixtures/nfs-harness.js';

t.test('file handles: every key shape packs into 64 bytes and back', async (t) => {
  const u1 = '0b5e4a4e-2a53-4c55-9a7f-3c1d2e0f9a11';
  const u2 = 'ffffffff-0000-4000-8000-123456789abc';
  for (const key of ['root', 'h:root', 's:', `${u1}:1`, `${u1}:9007199254740991`, `h:${u1}:42`, `v:${u2}:7`, `s:${u2}`, `s:${u2}:${u1}:9007199254740991`]) {
    const fh = packKey(key);
    t.ok(fh && fh.length <= 64, `${key} fits (${fh?.length} bytes)`);
    t.equal(unpackKey(fh!), key);
  }
  t.equal(fileIdOf('root'), 1n);
  t.not(fileIdOf(`${u1}:1`), fileIdOf(`${u1}:2`));
});

t.test('STALE for a removed file, BADHANDLE for garbage', async (t) => {
  const h = await nfsHarness(t);
  const fh = await h.create(h.root, 'doomed');
  await h.view.remove('/doomed');
  const { status } = await h.nfs(NFSPROC3.GETATTR, (w) => w.writeOpaque(fh));
  t.equal(status, NFS3.ERR_STALE);
  for (const bad of [Buffer.alloc(0), Buffer.from([9, 1, 2, 3]), Buffer.from([1, 0x05]), Buffer.alloc(64, 0xff)]) {
    const r = await h.nfs(NFSPROC3.GETATTR, (w) => w.writeOpaque(bad));
    t.equal(r.status, NFS3.ERR_BADHANDLE, `BADHANDLE for ${bad.toString('hex') || 'empty'}`);
  }
  const tooLong = await h.nfs(NFSPROC3.GETATTR, (w) => w.writeOpaque(Buffer.alloc(100, 1)));
  t.equal(tooLong.status, NFS3.ERR_BADHANDLE);
  const unknownNode = await h.nfs(NFSPROC3.GETATTR, (w) => w.writeOpaque(packKey('0b5e4a4e-2a53-4c55-9a7f-3c1d2e0f9a11:999')!));
  t.equal(unknownNode.status, NFS3.ERR_STALE, 'a well-formed handle of nothing is STALE');
});

t.test('JUKEBOX when content has not arrived from a peer yet', async (t) => {
  const h = await nfsHarness(t, {
    viewOverride: (v) =>
      new Proxy(v, {
        get(target, prop, receiver) {
          if (prop === 'openRead') return async (path: string) => {
            if (path.endsWith('remote.bin')) throw ContentUnavailable(path);
            return target.openRead(path);
          };
          const value = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }) as FileSystemView,
  });
  const fh = await h.create(h.root, 'remote.bin', Buffer.from('not here'));
  t.equal((await h.read(fh, 0, 10)).status, NFS3.ERR_JUKEBOX);
});

t.test('MOUNT: NULL, MNT (root, sub-folder, file, missing), DUMP, UMNT, UMNTALL, EXPORT', async (t) => {
  const h = await nfsHarness(t);
  t.equal((await h.client.call(MOUNT_PROGRAM, MOUNT_V3, 0)).stat, 'SUCCESS');
  await h.mkdir(h.root, 'sub');
  await h.create(h.root, 'file');
  for (const p of ['/', '', '/sub', '/sub/']) t.equal((await h.mount(p)).status, MNT3.OK, `MNT ${JSON.stringify(p)}`);
  t.same((await h.mount('/')).flavors, [1, 0]);
  t.same((await h.mount('/sub')).fh, await h.lookup(h.root, 'sub'), 'MNT of a folder gives its handle');
  t.equal((await h.mount('/file')).status, MNT3.ERR_NOTDIR);
  t.equal((await h.mount('/missing')).status, MNT3.ERR_NOENT);
  const dump = async () => {
    const rep = await h.client.call(MOUNT_PROGRAM, MOUNT_V3, 2);
    if (rep.stat !== 'SUCCESS') throw new Error(rep.stat);
    const out: string[] = [];
    while (rep.results.readBool()) out.push(`${rep.results.readString(255)} ${rep.results.readString(1024)}`);
    return out;
  };
  t.same((await dump()).sort(), ['127.0.0.1 /', '127.0.0.1 /sub']);
  await h.client.call(MOUNT_PROGRAM, MOUNT_V3, 3, (w) => w.writeString('/sub'));
  t.same(await dump(), ['127.0.0.1 /']);
  await h.client.call(MOUNT_PROGRAM, MOUNT_V3, 4);
  t.same(await dump(), []);
  const ex = await h.client.call(MOUNT_PROGRAM, MOUNT_V3, 5);
  if (ex.stat !== 'SUCCESS') throw new Error(ex.stat);
  t.ok(ex.results.readBool());
  t.equal(ex.results.readString(1024), '/');
});

t.test('refused clients: MNT3ERR_ACCES from MOUNT, AUTH_ERROR from NFS', async (t) => {
  const h = await nfsHarness(t, { allow: ['10.0.0.0/8'], skipMount: true });
  t.equal((await h.mount('/')).status, MNT3.ERR_ACCES);
  const rep = await h.client.call(100003, 3, NFSPROC3.GETATTR, (w) => w.writeOpaque(Buffer.from([1, 0x72])), { cred: SYS });
  t.equal(rep.stat, 'AUTH_ERROR');
  t.ok(allowList(['192.168.1.0/24', '::1'])('192.168.1.77'));
  t.notOk(allowList(['192.168.1.0/24'])('192.168.2.1'));
  t.ok(allowList(undefined)('127.0.0.1'));
  t.notOk(allowList(undefined)('10.1.1.1'));
  t.throws(() => allowList(['not-an-address']));
});

t.test('duplicate-request cache: a retransmitted REMOVE gets the first answer', async (t) => {
  const h = await nfsHarness(t);
  await h.create(h.root, 'once.txt');
  const rm = () => h.nfs(NFSPROC3.REMOVE, (w) => w.writeOpaque(h.root).writeString('once.txt'), { xid: 0x1234_5678 });
  const first = await rm();
  t.equal(first.status, NFS3.OK);
  const again = await rm();
  t.equal(again.status, NFS3.OK, 'same xid: answered from the cache, not NOENT');
  t.ok(readWcc(again.r).post);
  const fresh = await h.nfs(NFSPROC3.REMOVE, (w) => w.writeOpaque(h.root).writeString('once.txt'));
  t.equal(fresh.status, NFS3.ERR_NOENT, 'a new xid really runs');
  // on another connection from the same address (a client reconnecting after a lost reply)
  const other = await RpcClient.connect(h.port);
  t.teardown(() => other.close());
  const viaOther = await h.nfs(NFSPROC3.REMOVE, (w) => w.writeOpaque(h.root).writeString('once.txt'), { xid: 0x1234_5678, client: other });
  t.equal(viaOther.status, NFS3.OK);
});

t.test('pipelined concurrent calls on one connection are all answered, by xid', async (t) => {
  const h = await nfsHarness(t);
  const fh = await h.create(h.root, 'p.bin');
  const chunk = (i: number) => Buffer.alloc(64 * 1024, i);
  // 32 WRITEs in flight at once, then 32 READs and GETATTRs interleaved
  const writes = await Promise.all(Array.from({ length: 32 }, (_, i) => h.write(fh, i * 65536, chunk(i))));
  t.ok(writes.every((w) => w.status === NFS3.OK && w.count === 65536));
  t.equal((await h.commit(fh)).status, NFS3.OK);
  const reads = await Promise.all(
    Array.from({ length: 32 }, (_, i) => (i % 2 ? h.read(fh, i * 65536, 65536) : h.getattr(fh).then((a) => ({ status: 0, data: Buffer.from(String(a.size)), eof: false })))),
  );
  for (let i = 1; i < 32; i += 2) t.same(reads[i]!.data, chunk(i), `READ ${i}`);
  t.equal(reads[0]!.data.toString(), String(32 * 65536));
});

t.test('restart: handles survive, the write verifier changes', async (t) => {
  const h = await nfsHarness(t);
  const fh = await h.create(h.root, 'v.bin');
  const w = await h.write(fh, 0, Buffer.from('before'));
  await h.restart();
  const c = await h.commit(fh);
  t.equal(c.status, NFS3.OK, 'the handle works after the restart');
  t.not(c.verf.toString('hex'), w.verf.toString('hex'), 'COMMIT tells the client to resend');
  t.equal((await h.read(fh, 0, 10)).data.toString(), 'before', 'the server committed open writes when it stopped');
});

t.test('portmapper: GETPORT, DUMP, NULL on its own port', async (t) => {
  const h = await nfsHarness(t, { portmap: true, portmapPort: 0 });
  const rep = await h.client.call(PORTMAP_PROGRAM, 2, 3, (w) => w.writeUint(100003).writeUint(3).writeUint(6).writeUint(0));
  if (rep.stat !== 'SUCCESS') throw new Error(rep.stat);
  t.equal(rep.results.readUint(), h.port, 'NFS v3/TCP is on the NFS port');
  const none = await h.client.call(PORTMAP_PROGRAM, 2, 3, (w) => w.writeUint(100021).writeUint(4).writeUint(6).writeUint(0));
  if (none.stat !== 'SUCCESS') throw new Error(none.stat);
  t.equal(none.results.readUint(), 0, 'no NLM');
  const dump = await h.client.call(PORTMAP_PROGRAM, 2, 4);
  if (dump.stat !== 'SUCCESS') throw new Error(dump.stat);
  let n = 0;
  while (dump.results.readBool()) {
    dump.results.readUint();
    dump.results.readUint();
    dump.results.readUint();
    dump.results.readUint();
    n++;
  }
  t.ok(n >= 3);
});
