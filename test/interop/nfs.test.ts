/**
 * NFS v3 against a real `marble serve`, driven by clients nobody here wrote: libnfs-utils
 * (nfs-cp, nfs-cat, nfs-ls) and libnfs itself through ../shared/tools/nfs (nfs-check.sh,
 * nfsops.py). Needs the Debian package libnfs-utils (scripts/install-test-deps.sh).
 *
 * libnfs 4.0 cannot mount the directory "" (the export "/" as it names it for a file right
 * under the root): after MOUNT EXPORT it stops with "Export is empty" whatever the server
 * answers (lib/nfs_v3.c, nfs3_mount_3_cb). So the checks run with `auto-traverse-mounts=0`,
 * which skips that client-side step, and once more against a sub-folder export, which
 * keeps it.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, runTool, sharedTools, startMarble, tempDir, toolReport } from '../helpers/marble.js';
import { davUrl, listCollection, put, request, sha256 } from '../helpers/http.js';
import { RpcClient } from '../../protocols/nfs/rpc/index.js';
import { MOUNT_PROGRAM, NFS_PROGRAM, NFSPROC3 } from '../../protocols/nfs/constants.js';

const exec = promisify(execFile);
const NO_TRAVERSE = '&auto-traverse-mounts=0';

const nfsUrl = (port: number, p: string, extra = NO_TRAVERSE) => `nfs://127.0.0.1${p}?version=3&nfsport=${port}&mountport=${port}${extra}`;

function failedChecks(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('FAIL '));
}

t.test('nfs-check.sh: every check passes, hard links included', async (t) => {
  const m = await startMarble(t);
  const r = await runTool('nfs/nfs-check.sh', ['127.0.0.1', String(m.nfsPort)], { env: { NFS_URL_EXTRA: NO_TRAVERSE }, timeoutMs: 300_000 });
  t.comment(r.stdout.split('\n').filter((l) => /^(FAIL|nfs-check:)/.test(l)).join('\n'));
  t.ok(r.passed !== null && r.passed >= 36 && r.failed === 0, `nfs-check: ${r.passed} passed, ${r.failed} failed`, { diagnostic: r.passed === null || r.passed < 36, report: toolReport(r) });
  t.same(failedChecks(r.stdout), [], 'nothing fails');
  // the same against a sub-folder export, so libnfs's MOUNT EXPORT step runs too
  t.equal((await request(davUrl(m.webdav, 'export') + '/', { method: 'MKCOL' })).status, 201);
  const sub = await runTool('nfs/nfs-check.sh', ['127.0.0.1', String(m.nfsPort), String(m.nfsPort), '/export'], { timeoutMs: 300_000 });
  t.comment(`sub-folder export: ${sub.passed} passed, ${sub.failed} failed`);
  t.ok(sub.passed !== null && sub.passed >= 36 && sub.failed === 0, `sub-folder export: ${sub.passed} passed, ${sub.failed} failed`);
  t.same(failedChecks(sub.stdout), [], 'sub-folder export: nothing fails');
});

t.test('NFS and WebDAV see the same bytes; overwrite keeps history; rename keeps the handle', async (t) => {
  const m = await startMarble(t);
  const dir = await tempDir(t);
  const data = randomBytes(3 * 1024 * 1024 + 777);
  await writeFile(path.join(dir, 'up.bin'), data);
  await exec('nfs-cp', [path.join(dir, 'up.bin'), nfsUrl(m.nfsPort, '/via-nfs.bin')]);
  const got = await request(davUrl(m.webdav, 'via-nfs.bin'), { maxBody: 8 << 20 });
  t.equal(got.status, 200);
  t.equal(got.sha256, sha256(data), 'written over NFS, read over WebDAV: identical');

  const other = randomBytes(2 * 1024 * 1024 + 3);
  t.equal((await put(davUrl(m.webdav, 'via-dav.bin'), other)).status, 201);
  await exec('nfs-cp', [nfsUrl(m.nfsPort, '/via-dav.bin'), path.join(dir, 'down.bin')]);
  t.equal(sha256(await readFile(path.join(dir, 'down.bin'))), sha256(other), 'written over WebDAV, read over NFS: identical');

  // overwrite over NFS (libnfs creat O_TRUNC + pwrite): the previous version stays in /.history/
  const ops = path.join(sharedTools, 'nfs', 'nfsops.py');
  const root = nfsUrl(m.nfsPort, '/');
  const putNfs = (p: string, body: Buffer | string) =>
    new Promise<void>((resolve, reject) => {
      const c = spawn('python3', [ops, root, 'put', p], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (s: Buffer) => (err += s));
      c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nfsops put ${p}: ${code} ${err}`))));
      c.stdin.end(body);
    });
  await putNfs('/notes.txt', 'version one\n');
  await putNfs('/notes.txt', 'version two, longer\n');
  t.equal((await request(davUrl(m.webdav, 'notes.txt'))).body.toString(), 'version two, longer\n');
  const versions = await listCollection(davUrl(m.webdav, '.history', 'notes.txt') + '/');
  const bodies = await Promise.all(versions.map(async (v) => (await request(new URL(v.href, m.webdav).toString())).body.toString()));
  t.ok(bodies.includes('version one\n'), `the overwritten version is in /.history/notes.txt/ (${versions.length} versions)`);

  // rename over NFS keeps the node: the handle from before the rename still names it
  const c = await RpcClient.connect(m.nfsPort);
  t.teardown(() => c.close());
  const cred = { kind: 'sys' as const, stamp: 0, machinename: 'test', uid: 0, gid: 0, gids: [] };
  const mnt = await c.call(MOUNT_PROGRAM, 3, 1, (w) => w.writeString('/'), { cred });
  if (mnt.stat !== 'SUCCESS' || mnt.results.readUint() !== 0) throw new Error('MNT failed');
  const rootFh = Buffer.from(mnt.results.readOpaque(64));
  const lookup = async (name: string) => {
    const r = await c.call(NFS_PROGRAM, 3, NFSPROC3.LOOKUP, (w) => w.writeOpaque(rootFh).writeString(name), { cred });
    if (r.stat !== 'SUCCESS' || r.results.readUint() !== 0) throw new Error(`LOOKUP ${name}`);
    return Buffer.from(r.results.readOpaque(64));
  };
  const before = await lookup('via-nfs.bin');
  await exec('python3', [ops, root, 'mv', '/via-nfs.bin', '/renamed.bin']);
  t.same(await lookup('renamed.bin'), before, 'same handle after the rename');
  const ga = await c.call(NFS_PROGRAM, 3, NFSPROC3.GETATTR, (w) => w.writeOpaque(before), { cred });
  t.equal(ga.stat === 'SUCCESS' && ga.results.readUint(), 0, 'the old handle still works');
});

const BURST_PY = `
import importlib.util, sys, ctypes, os
spec = importlib.util.spec_from_file_location("nfsops", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
L, url, p, mode = m.L, sys.argv[2], sys.argv[3], sys.argv[4]
ctx = L.nfs_init_context(); u = L.nfs_parse_url_dir(ctx, url.encode())
m.ck(ctx, L.nfs_mount(ctx, u.contents.server, u.contents.path), "mount")
fh = ctypes.c_void_p()
m.ck(ctx, L.nfs_open(ctx, p.encode(), os.O_RDWR, ctypes.byref(fh)), "open")
if mode == "burst":
    for i in range(200):
        rec = ("line %04d\\n" % i).encode()
        m.ck(ctx, L.nfs_pwrite(ctx, fh, i * len(rec), len(rec), rec), "pwrite")
    m.ck(ctx, L.nfs_fsync(ctx, fh), "fsync")
else:
    m.ck(ctx, L.nfs_pwrite(ctx, fh, 0, 6, b"before"), "pwrite")
    print("ready", flush=True)
    sys.stdin.readline()
    m.ck(ctx, L.nfs_pwrite(ctx, fh, 6, 6, b"+after"), "pwrite after restart")
    m.ck(ctx, L.nfs_fsync(ctx, fh), "fsync after restart")
    buf = ctypes.create_string_buffer(64)
    n = L.nfs_pread(ctx, fh, 0, 64, buf)
    if n < 0: m.ck(ctx, n, "pread")
    print("content " + buf.raw[:n].decode(), flush=True)
L.nfs_close(ctx, fh)
`;

t.test('a burst of small NFS WRITEs becomes one change', async (t) => {
  const m = await startMarble(t);
  const dir = await tempDir(t);
  const script = path.join(dir, 'nfs-burst.py');
  await writeFile(script, BURST_PY);
  t.equal((await put(davUrl(m.webdav, 'burst.log'), 'seed\n')).status, 201);
  const before = (await listCollection(davUrl(m.webdav, '.history', 'burst.log') + '/')).length;
  await exec('python3', [script, path.join(sharedTools, 'nfs', 'nfsops.py'), nfsUrl(m.nfsPort, '/'), '/burst.log', 'burst']);
  const after = (await listCollection(davUrl(m.webdav, '.history', 'burst.log') + '/')).length;
  t.equal(after - before, 1, `200 WRITEs + COMMIT: one new version (${before} -> ${after})`);
  const body = (await request(davUrl(m.webdav, 'burst.log'))).body.toString();
  t.ok(body.startsWith('line 0000\n') && body.endsWith('line 0199\n'), 'all written');
});

t.test('server restart under a connected libnfs client (autoreconnect): handles still work, verifier changes', async (t) => {
  const port = await freePort();
  const data = path.join(await tempDir(t, 'marble-data-'), 'data');
  let m = await startMarble(t, { data, args: ['--nfs', `127.0.0.1:${port}`] });
  t.equal((await put(davUrl(m.webdav, 'r.txt'), '')).status, 201);
  const dir = await tempDir(t);
  const script = path.join(dir, 'nfs-reconnect.py');
  await writeFile(script, BURST_PY);

  // our own client: an UNSTABLE write before the restart, COMMIT after
  const cred = { kind: 'sys' as const, stamp: 0, machinename: 'test', uid: 0, gid: 0, gids: [] };
  const mountRoot = async (c: RpcClient) => {
    const mnt = await c.call(MOUNT_PROGRAM, 3, 1, (w) => w.writeString('/'), { cred });
    if (mnt.stat !== 'SUCCESS' || mnt.results.readUint() !== 0) throw new Error('MNT failed');
    return Buffer.from(mnt.results.readOpaque(64));
  };
  let c = await RpcClient.connect(port);
  const rootFh = await mountRoot(c);
  const lk = await c.call(NFS_PROGRAM, 3, NFSPROC3.LOOKUP, (w) => w.writeOpaque(rootFh).writeString('r.txt'), { cred });
  if (lk.stat !== 'SUCCESS' || lk.results.readUint() !== 0) throw new Error('LOOKUP failed');
  const fh = Buffer.from(lk.results.readOpaque(64));
  const wr = await c.call(NFS_PROGRAM, 3, NFSPROC3.WRITE, (w) => w.writeOpaque(fh).writeUhyper(100n).writeUint(1).writeUint(0).writeOpaque(Buffer.from('x')), { cred });
  if (wr.stat !== 'SUCCESS' || wr.results.readUint() !== 0) throw new Error('WRITE failed');
  const readWccSkip = (r: typeof wr) => {
    if (r.stat !== 'SUCCESS') return;
    const x = r.results;
    if (x.readBool()) x.readFixedOpaque(24);
    if (x.readBool()) x.readFixedOpaque(84);
  };
  readWccSkip(wr);
  wr.stat === 'SUCCESS' && wr.results.readUint() && wr.results.readUint();
  const verf1 = wr.stat === 'SUCCESS' ? Buffer.from(wr.results.readFixedOpaque(8)) : Buffer.alloc(8);

  const py = spawn('python3', [script, path.join(sharedTools, 'nfs', 'nfsops.py'), nfsUrl(port, '/', `${NO_TRAVERSE}&autoreconnect=-1`), '/r.txt', 'reconnect'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.teardown(() => py.kill('SIGKILL'));
  let out = '';
  let err = '';
  py.stdout.on('data', (s: Buffer) => (out += s));
  py.stderr.on('data', (s: Buffer) => (err += s));
  const exited = new Promise<number | null>((resolve) => py.on('close', resolve));
  for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(out.includes('ready'), `libnfs client wrote before the restart ${err}`);

  await m.stop();
  m = await startMarble(t, { data, args: ['--nfs', `127.0.0.1:${port}`] });
  py.stdin.write('go\n');
  const code = await exited;
  t.equal(code, 0, `libnfs client finished after the restart: ${out} ${err}`);
  t.match(out, /content before\+after/, 'its file handle kept working across the restart');

  c.close();
  c = await RpcClient.connect(port);
  t.teardown(() => c.close());
  const cm = await c.call(NFS_PROGRAM, 3, NFSPROC3.COMMIT, (w) => w.writeOpaque(fh).writeUhyper(0n).writeUint(0), { cred });
  if (cm.stat !== 'SUCCESS' || cm.results.readUint() !== 0) throw new Error('COMMIT failed');
  readWccSkip(cm);
  const verf2 = Buffer.from(cm.results.readFixedOpaque(8));
  t.not(verf2.toString('hex'), verf1.toString('hex'), 'COMMIT after the restart returns another verifier: the client must resend');
});
