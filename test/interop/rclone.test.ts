/**
 * rclone's webdav backend against `marble serve`: copy up, check, copy down + diff -r, lsf,
 * moveto/move/delete/deletefile/purge, all through the shared rclone-check.sh.
 */
import t from 'tap';
import { runTool, startMarble, toolReport } from '../helpers/marble.js';

t.test('rclone against marble', async (t) => {
  const marble = await startMarble(t, { name: 'rclone' });
  const r = await runTool('webdav/rclone-check.sh', [marble.webdav], { timeoutMs: 800_000 });
  const report = `${toolReport(r)}\n--- marble stderr (tail) ---\n${marble.stderr().slice(-3000)}`;
  t.comment(`rclone-check: ${r.passed} passed, ${r.failed} failed in ${(r.ms / 1000).toFixed(1)} s`);
  t.ok(r.passed !== null && r.passed > 0, `closing line read (${r.passed} passed)`, { report });
  t.equal(r.failed, 0, 'rclone-check: 0 failed', { report });
  t.equal(r.code, 0, 'rclone-check.sh exits 0', { report });
  t.ok(marble.alive(), 'marble still running');
  t.same(await marble.stop(), { code: 0, signal: null }, 'SIGTERM: clean exit 0');
});
