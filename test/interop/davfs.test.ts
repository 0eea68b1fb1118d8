/**
 * davfs2 (a kernel-level WebDAV mount, FUSE) against `marble serve`: the shared round trip of
 * 500 files with awkward names, diff -r, rename, overwrite, move and delete must all pass.
 * Mounting needs root. CI runs as root; elsewhere this fails with the reason rather than
 * skipping, so a green run always means davfs2 was really exercised.
 */
import t from 'tap';
import { isRoot, runTool, startMarble, toolReport } from '../helpers/marble.js';

t.test('davfs2 mount round trip against marble', async (t) => {
  if (!isRoot) {
    t.fail('davfs-roundtrip needs root (mount -t davfs); run the tests as root, as CI does');
    return;
  }
  const marble = await startMarble(t, { name: 'davfs' });
  const r = await runTool('webdav/davfs-roundtrip.sh', [marble.webdav], { timeoutMs: 800_000 });
  const report = `${toolReport(r)}\n--- marble stderr (tail) ---\n${marble.stderr().slice(-3000)}`;
  t.comment(`davfs-roundtrip: ${r.passed} passed, ${r.failed} failed in ${(r.ms / 1000).toFixed(1)} s`);
  t.ok(r.passed !== null && r.passed > 0, `closing line read (${r.passed} passed)`, { report });
  t.equal(r.failed, 0, 'davfs-roundtrip: 0 failed', { report });
  t.equal(r.code, 0, 'davfs-roundtrip.sh exits 0', { report });
  t.ok(marble.alive(), 'marble still running');
  t.same(await marble.stop(), { code: 0, signal: null }, 'SIGTERM: clean exit 0');
});
