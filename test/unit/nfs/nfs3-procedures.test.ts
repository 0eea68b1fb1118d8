import t from 'tap';
import { FSF3_CANSETTIME, FSF3_HOMOGENEOUS, FSF3_LINK, NF3DIR, NF3LNK, NF3REG, NFS3, NFSPROC3 } from '../../../protocols/nfs/constants.js';
import { CookieTable } from '../../../protocols/nfs/cookies.js';
import { ListingPages } from '../../../protocols/nfs/listing-pages.js';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statSync } from 'node:fs';
import { ReadCache } from '../../../protocols/nfs/reads.js';
import { native } from '../../../src/core/native.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { blobPaths, cachedPages } from '../../helpers/page-cache.js';
import { readAll } from '../fs/view-fixture.js';
import { nfsHarness, readAttr, readPostOp, readWcc, SYS, writeSattr, type Attr } from './fixtures/nfs-harness.js';

// One test per NFS v3 procedure (RFC 1813), against a real MarbleView over a temp data dir.

t.test('NULL', async (t) => {
  const h = await nfsHarness(t);
  const rep = await h.client.call(100003, 3, NFSPROC3.NULL);
  t.equal(rep.stat, 'SUCCESS');
});

t.test('GETATTR: root and a file, stable fileid, nanosecond times, caller ids', async (t) => {
  const h = await nfsHarness(t);
  const root = await h.getattr(h.root);
  t.equal(root.type, NF3DIR);
  t.equal(root.fileid, 1n);
  t.equal(root.uid, 1000);
  const fh = await h.create(h.root, 'a.txt', Buffer.from('hello'));
  const a = await h.getattr(fh);
  t.equal(a.type, NF3REG);
  t.equal(a.size, 5n);
  t.equal(a.nlink, 1);
  t.equal(a.fsid, root.fsid);
  const e = await h.view.stat('/a.txt');
  t.equal(BigInt(a.mtime[0]) * 1_000_000_000n + BigInt(a.mtime[1]), e.mtimeNs, 'mtime to the nanosecond');
  await h.restart();
  t.same((await h.getattr(fh)).fileid, a.fileid, 'same handle and fileid after a restart');
});

t.test('SETATTR: mode, size, mtime, atime; guard mismatch -> NOT_SYNC', async (t) => {
  const h = await nfsHarness(t);
  const fh = await h.create(h.root, 's.txt', Buffer.from('0123456789'));
  const before = await h.getattr(fh);
  let { status, r } = await h.nfs(NFSPROC3.SETATTR, (w) => {
    w.writeOpaque(fh);
    writeSattr(w, { mode: 0o600, size: 4n, mtime: [1_100_000_000, 5], atime: [1_000_000_000, 7] });
    w.writeBool(true).writeUint(before.ctime[0]).writeUint(before.ctime[1]);
  });
  t.equal(status, NFS3.OK);
  const wcc = readWcc(r);
  t.equal(wcc.pre?.size, 10n);
  t.equal(wcc.post?.size, 4n);
  t.equal(wcc.post?.mode, 0o600);
  t.same(wcc.post?.mtime, [1_100_000_000, 5]);
  t.same(wcc.post?.atime, [1_000_000_000, 7]);
  t.equal((await readAll(await h.view.openRead('/s.txt'))).toString(), '0123');
  ({ status, r } = await h.nfs(NFSPROC3.SETATTR, (w) => {
    w.writeOpaque(fh);
    writeSattr(w, { mode: 0o644 });
    w.writeBool(true).writeUint(before.ctime[0]).writeUint(before.ctime[1]); // stale ctime
  }));
  t.equal(status, NFS3.ERR_NOT_SYNC);
  const w2 = readWcc(r);
  t.equal(w2.post?.mode, 0o600, 'nothing applied');
});

t.test('LOOKUP: names, ".", "..", missing -> NOENT, too long -> NAMETOOLONG', async (t) => {
  const h = await nfsHarness(t);
  const d = await h.mkdir(h.root, 'dir');
  const f = await h.create(d, 'f.txt');
  t.same(await h.lookup(d, 'f.txt'), f);
  t.same(await h.lookup(d, '.'), d);
  t.same(await h.lookup(d, '..'), h.root);
  t.same(await h.lookup(h.root, '..'), h.root);
  let { status, r } = await h.nfs(NFSPROC3.LOOKUP, (w) => w.writeOpaque(d).writeString('nope'));
  t.equal(status, NFS3.ERR_NOENT);
  t.ok(readPostOp(r), 'dir attributes on failure');
  ({ status } = await h.nfs(NFSPROC3.LOOKUP, (w) => w.writeOpaque(d).writeString('x'.repeat(256))));
  t.equal(status, NFS3.ERR_NAMETOOLONG);
  ({ status } = await h.nfs(NFSPROC3.LOOKUP, (w) => w.writeOpaque(f).writeString('x')));
  t.equal(status, NFS3.ERR_NOTDIR);
  const hist = await h.lookup(h.root, '.history');
  t.equal((await h.getattr(hist)).type, NF3DIR, '/.history is there');
});

t.test('ACCESS: everything on the tree, no writes in /.history', async (t) => {
  const h = await nfsHarness(t);
  const f = await h.create(h.root, 'x.txt', Buffer.from('v1'));
  const access = async (fh: Buffer) => {
    const { status, r } = await h.nfs(NFSPROC3.ACCESS, (w) => w.writeOpaque(fh).writeUint(0x3f));
    t.equal(status, NFS3.OK);
    readPostOp(r);
    return r.readUint();
  };
  t.equal(await access(f), 0x1 | 0x4 | 0x8 | 0x10, 'file: read, modify, extend, delete (no x bit, no lookup)');
  t.equal(await access(h.root), 0x3f);
  const hist = await h.lookup(h.root, '.history');
  t.equal((await access(hist)) & (0x4 | 0x8 | 0x10), 0, 'history is read-only');
});

t.test('READLINK and SYMLINK: a link is a file flagged as one in the tree, holding its target', async (t) => {
  const h = await nfsHarness(t);
  const { status, r } = await h.nfs(NFSPROC3.SYMLINK, (w) => {
    w.writeOpaque(h.root).writeString('ln');
    writeSattr(w, {});
    w.writeString('target/file.txt');
  });
  t.equal(status, NFS3.OK);
  t.ok(r.readBool());
  const fh = Buffer.from(r.readOpaque(64));
  t.equal(readPostOp(r)?.type, NF3LNK);
  const rl = await h.nfs(NFSPROC3.READLINK, (w) => w.writeOpaque(fh));
  t.equal(rl.status, NFS3.OK);
  readPostOp(rl.r);
  t.equal(rl.r.readString(4096), 'target/file.txt');
  await h.restart();
  t.equal((await h.getattr(fh)).type, NF3LNK, 'still a link after a restart');
  const entry = await h.view.stat('/ln');
  t.ok(entry.symlink, 'the tree itself knows it is a link (so it replicates)');
  t.equal(entry.mode, 0o777, 'links have every permission, as on POSIX systems');
  t.same(await h.view.getProps('/ln'), new Map(), 'no local property marks it');
  const plain = await h.create(h.root, 'plain');
  t.equal((await h.nfs(NFSPROC3.READLINK, (w) => w.writeOpaque(plain))).status, NFS3.ERR_INVAL);
});

t.test('READ: ranges, eof, read-after-write sees the write', async (t) => {
  const h = await nfsHarness(t);
  const data = Buffer.from('abcdefghij'.repeat(1000));
  const fh = await h.create(h.root, 'r.bin', data);
  const a = await h.read(fh, 0, 100);
  t.same(a.data, data.subarray(0, 100));
  t.equal(a.eof, false);
  const b = await h.read(fh, 9_990, 100);
  t.same(b.data, data.subarray(9_990));
  t.equal(b.eof, true);
  const c = await h.read(fh, 20_000, 10);
  t.equal(c.data.length, 0);
  t.equal(c.eof, true);
  await h.write(fh, 0, Buffer.from('XYZ'));
  t.equal((await h.read(fh, 0, 5)).data.toString(), 'XYZde', 'uncommitted write is read back');
  const d = await h.mkdir(h.root, 'd');
  t.equal((await h.read(d, 0, 10)).status, NFS3.ERR_ISDIR);
});

t.test('READ: a large file goes out from the page cache when it is there, read into a buffer when not; byte for byte either way', async (t) => {
  const h = await nfsHarness(t);
  const data = randomBytes((3 << 20) + 3);
  const fh = await h.create(h.root, 'big.bin');
  for (let at = 0; at < data.length; at += 1 << 20) t.equal((await h.write(fh, at, data.subarray(at, at + (1 << 20)))).status, NFS3.OK);
  t.equal((await h.commit(fh)).status, NFS3.OK);
  const readsBack = async (offset: number, count: number, how: string) => {
    const r = await h.read(fh, offset, count);
    const want = data.subarray(offset, offset + count);
    t.ok(r.status === NFS3.OK && r.data.equals(want), `${how}: ${count} bytes from ${offset}`);
    t.equal(r.eof, offset + count >= data.length, `${how}: eof from ${offset}`);
  };
  const entry = await h.view.stat('/big.bin');
  const reads = new ReadCache(h.view, 1000);
  t.teardown(() => reads.closeAll());

  // Dropped before anything has read or sent it (a page a sendfile has lent to a socket may stay pinned a while).
  const blob = blobPaths(h.fx.dir).find((p) => statSync(p).size === data.length)!;
  const fd = openSync(blob, 'r');
  for (let i = 0; i < 50 && cachedPages(blob) > 0; i++) {
    await native!.dropCache(fd);
    await sleep(10);
  }
  closeSync(fd);
  t.equal(cachedPages(blob), 0, "the file's pages are out of the page cache (fincore)");
  t.equal(await reads.fileRange(entry.key, '/big.bin', entry, 0, 1 << 20), undefined, 'pages on disk only: not lent, read into a buffer instead');
  for (let at = 0; at < data.length; at += 1 << 20) await readsBack(at, 1 << 20, 'from disk, read ahead');

  // Read once, the pages are cached: the read cache lends the file, and READs go out from there.
  const lent = await reads.fileRange(entry.key, '/big.bin', entry, 0, 1 << 20);
  t.ok(lent, 'pages in the page cache: the range is lent as a file');
  lent?.release();
  // Every XDR padding (lengths 4k+0..3), the file's last bytes, a range running past its end.
  for (const [offset, count] of [[0, 1 << 20], [1 << 20, 1 << 20], [1, 65_537], [(1 << 20) + 1, 2], [3 << 20, 3], [(3 << 20) + 1, 1 << 20], [5, 1 << 20]] as const) {
    await readsBack(offset, count, 'cached');
  }
});

t.test('COMMIT and stable WRITEs make the log durable, even when nothing was left to commit; UNSTABLE WRITEs do not', async (t) => {
  const h = await nfsHarness(t);
  const view = h.view as { syncCommitted(): Promise<void> };
  const sync = view.syncCommitted.bind(view);
  let syncs = 0;
  view.syncCommitted = async () => {
    syncs++;
    await sync(); // the real fsync of the log runs too
  };
  const fh = await h.create(h.root, 'sync.bin');
  await h.write(fh, 0, Buffer.from('unstable'), 0);
  t.equal(syncs, 0, 'an UNSTABLE WRITE does not sync');
  t.equal((await h.commit(fh)).status, NFS3.OK);
  t.equal(syncs, 1, 'COMMIT synced the log');
  t.equal((await h.commit(fh)).status, NFS3.OK);
  t.equal(syncs, 2, 'a COMMIT with nothing pending still syncs (an idle commit may have left it unsynced)');
  await h.write(fh, 0, Buffer.from('S'), 2);
  t.equal(syncs, 3, 'a FILE_SYNC WRITE synced the log');
  t.equal((await readAll(await h.view.openRead('/sync.bin'))).toString(), 'Snstable');
});

t.test('WRITE: UNSTABLE then COMMIT is one change; FILE_SYNC is durable at once; verifier', async (t) => {
  const h = await nfsHarness(t);
  const fh = await h.create(h.root, 'w.bin');
  const w1 = await h.write(fh, 0, Buffer.from('hello '), 0);
  t.equal(w1.status, NFS3.OK);
  t.equal(w1.committed, 0);
  t.equal(w1.count, 6);
  const w2 = await h.write(fh, 6, Buffer.from('world'), 0);
  t.same(w2.verf, w1.verf);
  t.equal((await h.getattr(fh)).size, 11n, 'size includes uncommitted writes');
  t.equal((await h.view.stat('/w.bin')).size, 0, 'not committed yet');
  const c = await h.commit(fh);
  t.same(c.verf, w1.verf);
  t.equal((await readAll(await h.view.openRead('/w.bin'))).toString(), 'hello world');
  const fs = await h.write(fh, 11, Buffer.from('!'), 2);
  t.equal(fs.committed, 2, 'FILE_SYNC answered FILE_SYNC');
  t.equal((await readAll(await h.view.openRead('/w.bin'))).toString(), 'hello world!', 'FILE_SYNC data is committed before the reply');
  const ds = await h.write(fh, 0, Buffer.from('H'), 1);
  t.ok(ds.committed >= 1, 'DATA_SYNC at least DATA_SYNC');
  t.equal((await readAll(await h.view.openRead('/w.bin'))).toString(), 'Hello world!');
  const d = await h.mkdir(h.root, 'd');
  t.equal((await h.write(d, 0, Buffer.from('x'))).status, NFS3.ERR_ISDIR);
});

t.test('CREATE: UNCHECKED, GUARDED, EXCLUSIVE retransmitted', async (t) => {
  const h = await nfsHarness(t);
  const f = await h.create(h.root, 'c.txt', Buffer.from('data'));
  // GUARDED on an existing name
  let { status } = await h.nfs(NFSPROC3.CREATE, (w) => {
    w.writeOpaque(h.root).writeString('c.txt').writeUint(1);
    writeSattr(w);
  });
  t.equal(status, NFS3.ERR_EXIST);
  // UNCHECKED with size 0 truncates the existing file, same handle
  let r;
  ({ status, r } = await h.nfs(NFSPROC3.CREATE, (w) => {
    w.writeOpaque(h.root).writeString('c.txt').writeUint(0);
    writeSattr(w, { size: 0n });
  }));
  t.equal(status, NFS3.OK);
  t.ok(r.readBool());
  t.same(Buffer.from(r.readOpaque(64)), f);
  t.equal(readPostOp(r)?.size, 0n);
  // EXCLUSIVE, then the same call again with another xid (a retransmission after the DRC forgot it)
  const verf = Buffer.from('12345678');
  const excl = () =>
    h.nfs(NFSPROC3.CREATE, (w) => {
      w.writeOpaque(h.root).writeString('e.txt').writeUint(2).writeFixedOpaque(verf);
    });
  const e1 = await excl();
  t.equal(e1.status, NFS3.OK);
  e1.r.readBool();
  const fh1 = Buffer.from(e1.r.readOpaque(64));
  const e2 = await excl();
  t.equal(e2.status, NFS3.OK, 'retransmitted EXCLUSIVE create succeeds');
  e2.r.readBool();
  t.same(Buffer.from(e2.r.readOpaque(64)), fh1, 'same file');
  const e3 = await h.nfs(NFSPROC3.CREATE, (w) => {
    w.writeOpaque(h.root).writeString('e.txt').writeUint(2).writeFixedOpaque(Buffer.from('other!!!'));
  });
  t.equal(e3.status, NFS3.ERR_EXIST, 'another verifier: EXIST');
  const wcc = readWcc(e3.r);
  t.ok(wcc.pre && wcc.post, 'wcc_data of the folder on failure');
  // in /.history: read-only
  const hist = await h.lookup(h.root, '.history');
  ({ status } = await h.nfs(NFSPROC3.CREATE, (w) => {
    w.writeOpaque(hist).writeString('x').writeUint(1);
    writeSattr(w);
  }));
  t.equal(status, NFS3.ERR_ROFS);
});

t.test('MKDIR: creates, EXIST on a taken name, wcc of the parent', async (t) => {
  const h = await nfsHarness(t);
  const { status, r } = await h.nfs(NFSPROC3.MKDIR, (w) => {
    w.writeOpaque(h.root).writeString('m');
    writeSattr(w, { mode: 0o700 });
  });
  t.equal(status, NFS3.OK);
  t.ok(r.readBool());
  r.readOpaque(64);
  const a = readPostOp(r);
  t.equal(a?.type, NF3DIR);
  t.equal(a?.mode, 0o700);
  const wcc = readWcc(r);
  t.ok(wcc.pre && wcc.post);
  const again = await h.nfs(NFSPROC3.MKDIR, (w) => {
    w.writeOpaque(h.root).writeString('m');
    writeSattr(w);
  });
  t.equal(again.status, NFS3.ERR_EXIST);
});

t.test('MKNOD: NOTSUPP with the folder wcc', async (t) => {
  const h = await nfsHarness(t);
  const { status, r } = await h.nfs(NFSPROC3.MKNOD, (w) => w.writeOpaque(h.root).writeString('fifo').writeUint(7));
  t.equal(status, NFS3.ERR_NOTSUPP);
  t.ok(readWcc(r).post);
});

t.test('REMOVE: file gone, version kept in history, ISDIR for folders, NOENT for missing', async (t) => {
  const h = await nfsHarness(t);
  await h.create(h.root, 'gone.txt', Buffer.from('bye'));
  await h.mkdir(h.root, 'keep');
  const rm = (name: string) => h.nfs(NFSPROC3.REMOVE, (w) => w.writeOpaque(h.root).writeString(name));
  t.equal((await rm('gone.txt')).status, NFS3.OK);
  t.equal((await rm('gone.txt')).status, NFS3.ERR_NOENT);
  t.equal((await rm('keep')).status, NFS3.ERR_ISDIR);
  const versions = await h.view.list('/.history/gone.txt');
  t.ok(versions.entries.length >= 1, 'history keeps the removed file');
});

t.test('RMDIR: empty folder, NOTEMPTY, NOTDIR', async (t) => {
  const h = await nfsHarness(t);
  const d = await h.mkdir(h.root, 'full');
  await h.create(d, 'x');
  await h.mkdir(h.root, 'empty');
  await h.create(h.root, 'file');
  const rmdir = (name: string) => h.nfs(NFSPROC3.RMDIR, (w) => w.writeOpaque(h.root).writeString(name));
  t.equal((await rmdir('full')).status, NFS3.ERR_NOTEMPTY);
  t.equal((await rmdir('empty')).status, NFS3.OK);
  t.equal((await rmdir('file')).status, NFS3.ERR_NOTDIR);
});

t.test('RENAME: keeps the handle, replaces a file, refuses a non-empty folder', async (t) => {
  const h = await nfsHarness(t);
  const a = await h.mkdir(h.root, 'a');
  const b = await h.mkdir(h.root, 'b');
  const f = await h.create(a, 'f.txt', Buffer.from('content'));
  await h.create(b, 'old.txt', Buffer.from('old'));
  const mv = (from: Buffer, fn: string, to: Buffer, tn: string) =>
    h.nfs(NFSPROC3.RENAME, (w) => w.writeOpaque(from).writeString(fn).writeOpaque(to).writeString(tn));
  const { status, r } = await mv(a, 'f.txt', b, 'old.txt');
  t.equal(status, NFS3.OK);
  t.ok(readWcc(r).post && readWcc(r).post, 'two wcc_data');
  t.same(await h.lookup(b, 'old.txt'), f, 'the moved node keeps its handle');
  t.equal((await h.read(f, 0, 100)).data.toString(), 'content', 'the old handle still reads');
  const c = await h.mkdir(h.root, 'c');
  await h.create(c, 'inside');
  await h.mkdir(h.root, 'd');
  t.equal((await mv(h.root, 'd', h.root, 'c')).status, NFS3.ERR_NOTEMPTY);
  t.equal((await mv(h.root, 'nope', h.root, 'x')).status, NFS3.ERR_NOENT);
  t.equal((await mv(h.root, 'c', c, 'sub')).status, NFS3.ERR_INVAL, 'into itself');
});

t.test('LINK: a second name with one handle; EXIST, ISDIR, ROFS, XDEV, BADHANDLE; removing either name keeps the file', async (t) => {
  const h = await nfsHarness(t);
  const d = await h.mkdir(h.root, 'd');
  const f = await h.create(h.root, 'l.txt', Buffer.from('shared bytes'));
  const link = (file: Buffer, dir: Buffer, name: string) => h.nfs(NFSPROC3.LINK, (w) => w.writeOpaque(file).writeOpaque(dir).writeString(name));
  const { status, r } = await link(f, d, 'hard');
  t.equal(status, NFS3.OK);
  t.equal(readPostOp(r)?.nlink, 2, 'file attributes show the new link count');
  const wcc = readWcc(r);
  t.ok(wcc.pre && wcc.post, 'folder wcc_data');
  const hard = await h.lookup(d, 'hard');
  t.same(hard, f, 'both names give one handle');
  t.equal((await h.getattr(f)).nlink, 2);
  t.equal((await h.read(hard, 0, 100)).data.toString(), 'shared bytes');
  t.equal((await h.write(hard, 0, Buffer.from('SHARED'), 2)).status, NFS3.OK);
  t.equal((await readAll(await h.view.openRead('/l.txt'))).toString(), 'SHARED bytes', 'a write through one name is seen through the other');

  t.equal((await link(f, d, 'hard')).status, NFS3.ERR_EXIST, 'name taken');
  t.equal((await link(d, h.root, 'dirlink')).status, NFS3.ERR_ISDIR, 'folders cannot be linked');
  const hist = await h.lookup(h.root, '.history');
  t.equal((await link(f, hist, 'x')).status, NFS3.ERR_ROFS, 'nothing is added to /.history');
  const versions = await h.view.list('/.history/l.txt');
  const version = await h.lookup(await h.lookup(hist, 'l.txt'), versions.entries[0]!.name);
  t.equal((await link(version, h.root, 'old')).status, NFS3.ERR_XDEV, 'a version cannot be linked into the main tree');
  const bad = await link(Buffer.from('not a handle'), d, 'y');
  t.equal(bad.status, NFS3.ERR_BADHANDLE);
  t.notOk(readPostOp(bad.r), 'no file attributes for a bad handle');

  t.equal((await h.nfs(NFSPROC3.REMOVE, (w) => w.writeOpaque(h.root).writeString('l.txt'))).status, NFS3.OK);
  t.equal((await h.getattr(f)).nlink, 1, 'the handle stays valid once the first name is removed');
  t.equal((await h.read(f, 0, 100)).data.toString(), 'SHARED bytes');
  t.same(await h.lookup(d, 'hard'), f, 'the link name still gives the handle');
  await t.rejects(h.view.stat('/l.txt'), { code: 'MARBLE_NOT_FOUND' });
  t.equal((await link(f, h.root, 'again')).status, NFS3.OK);
  t.equal((await h.nfs(NFSPROC3.REMOVE, (w) => w.writeOpaque(h.root).writeString('again'))).status, NFS3.OK);
  t.equal((await h.getattr(f)).nlink, 1, 'removing a link leaves the file one name');
});

/**
 * Lists a folder with READDIR (plus = READDIRPLUS; dircount `count`, maxcount 4 x `count`), following
 * cookies; returns the names, the calls made, each name's size (READDIRPLUS) and each page as one
 * line (fileids, names, cookies, handles, sizes and mtimes) to compare listings by.
 */
async function listAll(h: Awaited<ReturnType<typeof nfsHarness>>, dir: Buffer, plus: boolean, count = 1024) {
  const names: string[] = [];
  const sizes = new Map<string, bigint>();
  const pages: string[] = [];
  let cookie = 0n;
  let verf = Buffer.alloc(8);
  let calls = 0;
  for (;;) {
    calls++;
    const { status, r } = await h.nfs(plus ? NFSPROC3.READDIRPLUS : NFSPROC3.READDIR, (w) => {
      w.writeOpaque(dir).writeUhyper(cookie).writeFixedOpaque(verf).writeUint(count);
      if (plus) w.writeUint(count * 4);
    });
    if (status !== NFS3.OK) throw new Error(`READDIR status ${status}`);
    readPostOp(r);
    verf = Buffer.from(r.readFixedOpaque(8));
    const page: string[] = [];
    while (r.readBool()) {
      const fileid = r.readUhyper();
      const name = r.readString(255);
      names.push(name);
      cookie = r.readUhyper();
      let line = `${fileid} ${name} ${cookie}`;
      if (plus) {
        const attrs = r.readBool() ? readAttr(r) : undefined;
        const fh = r.readBool() ? Buffer.from(r.readOpaque(64)).toString('hex') : '';
        if (attrs) sizes.set(name, attrs.size);
        line += ` ${fh} ${attrs?.size} ${attrs?.mtime}`;
      }
      page.push(line);
    }
    const eof = r.readBool();
    pages.push(`${page.join(';')} eof=${eof}`);
    if (eof) return { names, calls, verf, sizes, pages };
  }
}

t.test('READDIR: complete listing in small replies, stable cookies while entries are added', async (t) => {
  const h = await nfsHarness(t);
  const d = await h.mkdir(h.root, 'many');
  for (let i = 0; i < 120; i++) await h.create(d, `f${String(i).padStart(3, '0')}`);
  const { names, calls } = await listAll(h, d, false, 512);
  t.ok(calls > 3, `several calls (${calls})`);
  t.same(names.slice(0, 2), ['.', '..']);
  t.equal(names.length, 122);
  t.equal(new Set(names).size, 122, 'no duplicates');
  // a listing interrupted, entries added before and after the cookie, then resumed
  const first = await h.nfs(NFSPROC3.READDIR, (w) => w.writeOpaque(d).writeUhyper(0n).writeFixedOpaque(Buffer.alloc(8)).writeUint(400));
  readPostOp(first.r);
  const verf = Buffer.from(first.r.readFixedOpaque(8));
  let cookie = 0n;
  const seen: string[] = [];
  while (first.r.readBool()) {
    first.r.readUhyper();
    seen.push(first.r.readString(255));
    cookie = first.r.readUhyper();
  }
  await h.create(d, 'a-before');
  await h.create(d, 'z-after');
  const rest = await h.nfs(NFSPROC3.READDIR, (w) => w.writeOpaque(d).writeUhyper(cookie).writeFixedOpaque(verf).writeUint(100_000));
  t.equal(rest.status, NFS3.OK);
  readPostOp(rest.r);
  rest.r.readFixedOpaque(8);
  while (rest.r.readBool()) {
    rest.r.readUhyper();
    seen.push(rest.r.readString(255));
    rest.r.readUhyper();
  }
  t.equal(rest.r.readBool(), true, 'eof');
  t.equal(new Set(seen).size, seen.length, 'nothing listed twice');
  t.ok(seen.includes('z-after') && seen.includes('f119'), 'resumed where it stopped');
  const bad = await h.nfs(NFSPROC3.READDIR, (w) => w.writeOpaque(d).writeUhyper(cookie).writeFixedOpaque(Buffer.from('wrongvrf')).writeUint(4096));
  t.equal(bad.status, NFS3.ERR_BAD_COOKIE, 'a verifier from elsewhere');
  const tiny = await h.nfs(NFSPROC3.READDIR, (w) => w.writeOpaque(d).writeUhyper(0n).writeFixedOpaque(Buffer.alloc(8)).writeUint(50));
  t.equal(tiny.status, NFS3.ERR_TOOSMALL);
});

t.test('READDIRPLUS: attributes and handles, the root shows .history and .splits once', async (t) => {
  const h = await nfsHarness(t);
  for (let i = 0; i < 40; i++) await h.create(h.root, `${i % 2 ? '-' : 'z'}${i}`);
  const { names, calls } = await listAll(h, h.root, true, 600);
  t.ok(calls > 2);
  t.equal(names.length, 44);
  t.equal(names.filter((n) => n === '.history').length, 1);
  t.equal(names.filter((n) => n === '.splits').length, 1);
  t.ok(names.includes('-1') && names.includes('z0'));
});

t.test('READDIRPLUS: a folder listed again shows what changed since (uncommitted writes, a commit, atime, the caller)', async (t) => {
  const h = await nfsHarness(t);
  const d = await h.mkdir(h.root, 'd');
  const f = await h.create(d, 'f', Buffer.from('12345'));
  await h.create(d, 'g', Buffer.from('x'));
  const attrsIn = async (cred = SYS) => {
    const { status, r } = await h.nfs(NFSPROC3.READDIRPLUS, (w) => w.writeOpaque(d).writeUhyper(0n).writeFixedOpaque(Buffer.alloc(8)).writeUint(4096).writeUint(16384), { cred });
    t.equal(status, NFS3.OK);
    readPostOp(r);
    r.readFixedOpaque(8);
    const got = new Map<string, Attr>();
    while (r.readBool()) {
      r.readUhyper();
      const name = r.readString(255);
      r.readUhyper();
      got.set(name, readPostOp(r)!);
      if (r.readBool()) r.readOpaque(64);
    }
    return got;
  };
  t.equal((await attrsIn()).get('f')?.size, 5n);
  t.equal((await attrsIn()).get('f')?.size, 5n, 'listed again, unchanged');
  t.equal((await h.write(f, 5, Buffer.from('678'), 0)).status, NFS3.OK);
  t.equal((await attrsIn()).get('f')?.size, 8n, 'an UNSTABLE write not yet committed');
  t.equal((await h.commit(f)).status, NFS3.OK);
  const committed = (await attrsIn()).get('f')!;
  t.equal(committed.size, 8n, 'after COMMIT');
  t.equal((await h.nfs(NFSPROC3.SETATTR, (w) => {
    w.writeOpaque(f);
    writeSattr(w, { atime: [1_000_000_000, 9] });
    w.writeBool(false);
  })).status, NFS3.OK);
  const touched = (await attrsIn()).get('f')!;
  t.same(touched.atime, [1_000_000_000, 9], 'atime set by SETATTR');
  t.equal((await attrsIn()).get('g')?.size, 1n);
  const other = await attrsIn({ kind: 'sys', stamp: 2, machinename: 'other', uid: 4321, gid: 8765, gids: [] });
  t.same([other.get('f')?.uid, other.get('f')?.gid, other.get('g')?.uid], [4321, 8765, 4321], "another caller's ids");
  t.same([(await attrsIn()).get('g')?.uid], [1000], 'and the first caller still sees its own');
});

t.test('READDIRPLUS: a folder listed again unchanged is answered from the pages kept; a commit, an NFS write or a removal ends that', async (t) => {
  const h = await nfsHarness(t);
  const d = await h.mkdir(h.root, 'd');
  for (let i = 0; i < 12; i++) await h.create(d, `f${String(i).padStart(2, '0')}`, Buffer.from('abc'));
  let lists = 0;
  const list = h.view.list.bind(h.view);
  h.view.list = (path, opts) => {
    lists++;
    return list(path, opts);
  };
  // dircount 200, maxcount 800: about four entries a page
  const listD = () => listAll(h, d, true, 200);
  const first = await listD();
  t.ok(first.pages.length > 3, `several pages (${first.pages.length})`);
  t.equal(first.names.length, 14, "'.', '..' and 12 files");
  t.ok(lists > 0);
  lists = 0;
  const again = await listD();
  t.equal(lists, 0, 'listed again unchanged: the view is not asked');
  t.same(again.pages, first.pages, 'the same entries, cookies, handles and attributes');
  await h.view.createFile('/d/f05b', { exclusive: true }); // a commit from elsewhere (WebDAV, a peer)
  const created = await listD();
  t.ok(lists > 0, 'a commit clears the pages');
  t.ok(created.names.includes('f05b'), 'the new file is listed');
  t.equal(created.names.length, 15);
  lists = 0;
  await listD();
  t.equal(lists, 0, 'kept again');
  const f03 = await h.lookup(d, 'f03');
  t.equal((await h.write(f03, 3, Buffer.from('defg'), 0)).status, NFS3.OK);
  t.equal((await listD()).sizes.get('f03'), 7n, 'an uncommitted NFS write shows');
  await h.view.remove('/d/f07');
  t.notOk((await listD()).names.includes('f07'), 'a removal shows');
});

t.test('ListingPages: a page read before a clear() is not kept; CookieTable: forgetting a folder is reported', async (t) => {
  const pages = new ListingPages();
  const key = ListingPages.key('k', 0n, 10, 10, 1, 1);
  const page = { entries: Buffer.from('x'), eof: true };
  const since = pages.generation;
  pages.clear(); // a commit while the page was being read
  pages.set(key, page, since);
  t.equal(pages.get(key), undefined, 'not kept: it may miss the commit');
  pages.set(key, page, pages.generation);
  t.equal(pages.get(key), page);
  t.equal(pages.get(ListingPages.key('k', 0n, 10, 10, 2, 1)), undefined, 'another caller has its own');
  let evicted = 0;
  const cookies = new CookieTable(3, () => evicted++);
  const c = cookies.cookieFor('a', 'x');
  cookies.cookieFor('a', 'y');
  t.equal(evicted, 0);
  cookies.cookieFor('b', 'x');
  cookies.cookieFor('b', 'y');
  t.equal(evicted, 1, 'folder a forgotten');
  t.equal(cookies.nameOf('a', c), undefined);
});

t.test('READDIRPLUS: a hard link shows the file (attributes, handle), a symbolic link type NF3LNK', async (t) => {
  const h = await nfsHarness(t);
  const d = await h.mkdir(h.root, 'd');
  const f = await h.create(d, 'file', Buffer.from('12345'));
  await h.view.link('/d/file', '/d/link');
  await h.view.symlink('/d/sym', Buffer.from('file'));
  const { status, r } = await h.nfs(NFSPROC3.READDIRPLUS, (w) => w.writeOpaque(d).writeUhyper(0n).writeFixedOpaque(Buffer.alloc(8)).writeUint(4096).writeUint(16384));
  t.equal(status, NFS3.OK);
  readPostOp(r);
  r.readFixedOpaque(8);
  const got = new Map<string, { type: number; nlink: number; size: bigint; fh: Buffer }>();
  while (r.readBool()) {
    r.readUhyper();
    const name = r.readString(255);
    r.readUhyper();
    const a = readPostOp(r)!;
    const fh = r.readBool() ? Buffer.from(r.readOpaque(64)) : Buffer.alloc(0);
    got.set(name, { type: a.type, nlink: a.nlink, size: a.size, fh });
  }
  t.same(got.get('file'), { type: NF3REG, nlink: 2, size: 5n, fh: f });
  t.same(got.get('link'), { type: NF3REG, nlink: 2, size: 5n, fh: f }, 'the link under its own name, with the file itself');
  t.equal(got.get('sym')?.type, NF3LNK);
});

t.test('FSSTAT: sizes from view.space()', async (t) => {
  const h = await nfsHarness(t);
  const { status, r } = await h.nfs(NFSPROC3.FSSTAT, (w) => w.writeOpaque(h.root));
  t.equal(status, NFS3.OK);
  readPostOp(r);
  const tbytes = r.readUhyper();
  const fbytes = r.readUhyper();
  const abytes = r.readUhyper();
  t.ok(tbytes >= fbytes && fbytes === abytes && fbytes > 0n);
});

t.test('FSINFO: 1 MiB transfers, properties', async (t) => {
  const h = await nfsHarness(t);
  const { status, r } = await h.nfs(NFSPROC3.FSINFO, (w) => w.writeOpaque(h.root));
  t.equal(status, NFS3.OK);
  readPostOp(r);
  const [rtmax, , , wtmax] = [r.readUint(), r.readUint(), r.readUint(), r.readUint()];
  t.equal(rtmax, 1 << 20);
  t.equal(wtmax, 1 << 20);
  r.readUint();
  r.readUint();
  r.readUint(); // wtpref wtmult dtpref
  r.readUhyper();
  r.readUint();
  r.readUint();
  const props = r.readUint();
  t.ok(props & FSF3_CANSETTIME && props & FSF3_HOMOGENEOUS);
  t.ok(props & FSF3_LINK, 'hard links');
});

t.test('PATHCONF', async (t) => {
  const h = await nfsHarness(t);
  const { status, r } = await h.nfs(NFSPROC3.PATHCONF, (w) => w.writeOpaque(h.root));
  t.equal(status, NFS3.OK);
  readPostOp(r);
  t.equal(r.readUint(), 0xffff_ffff, 'linkmax: hard links have no limit of their own');
  t.equal(r.readUint(), 255, 'name_max');
  t.same([r.readBool(), r.readBool(), r.readBool(), r.readBool()], [true, true, false, true]);
});

t.test('COMMIT: returns once the session is one durable change', async (t) => {
  const h = await nfsHarness(t);
  const fh = await h.create(h.root, 'burst.txt');
  const before = (await h.view.list('/.history/burst.txt')).entries.length;
  for (let i = 0; i < 50; i++) await h.write(fh, i * 2, Buffer.from(`${i % 10} `));
  const c = await h.commit(fh);
  t.equal(c.status, NFS3.OK);
  const after = (await h.view.list('/.history/burst.txt')).entries.length;
  t.equal(after - before, 1, '50 WRITEs, one change');
  t.equal((await h.view.stat('/burst.txt')).size, 100);
});
