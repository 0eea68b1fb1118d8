/**
 * litmus (the WebDAV conformance suite) against `marble serve`: every suite runs, nothing fails,
 * and at least as many tests pass as Apache mod_dav passes on this machine in the same run.
 */
import t from 'tap';
import { isRoot, runTool, startApache, startMarble, tempDir, toolReport } from '../helpers/marble.js';

const SUITES = ['basic', 'copymove', 'props', 'locks', 'http'];

function suiteLines(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of stdout.matchAll(/^litmus-check: (\w+): (\d+ tests run: .*|not run)$/gm)) m.set(x[1]!, x[2]!);
  return m;
}

t.test('litmus: marble passes every suite, at least as many tests as Apache mod_dav', async (t) => {
  // Apache first, on its own: the anchor measured on this machine now, not a number copied once.
  const apache = await startApache(t);
  const ref = await runTool('webdav/litmus-check.sh', [apache.url], { timeoutMs: 400_000 });
  await apache.stop();
  t.ok(ref.passed !== null && ref.passed > 0, `Apache litmus count read (${ref.passed} passed)`);
  if (ref.passed === null) t.comment(toolReport(ref));
  t.comment(`apache mod_dav: ${ref.passed} passed, ${ref.failed} failed${isRoot ? '' : ' (not root)'}`);

  const marble = await startMarble(t, { name: 'litmus' });
  const logs = await tempDir(t, 'marble-litmus-log-');
  const r = await runTool('webdav/litmus-check.sh', [marble.webdav], {
    timeoutMs: 400_000,
    env: { LITMUS_LOG_DIR: logs },
  });
  const report = `${toolReport(r)}\n--- marble stderr (tail) ---\n${marble.stderr().slice(-3000)}`;
  t.comment(`marble: ${r.passed} passed, ${r.failed} failed`);

  const suites = suiteLines(r.stdout);
  for (const s of SUITES) {
    const line = suites.get(s);
    t.ok(line !== undefined && line !== 'not run', `suite ${s} ran (${line ?? 'no line'})`);
  }
  t.notMatch(r.stdout, /suite ended without a summary/, 'no suite was cut short (crash or timeout)');
  t.ok(marble.alive(), 'marble is still running after litmus');
  t.equal(r.failed, 0, `litmus: 0 failed`, { report });
  t.ok(r.passed !== null && ref.passed !== null && r.passed >= ref.passed, `marble passes ${r.passed} >= Apache ${ref.passed}`, { report });
  t.equal(r.code, 0, 'litmus-check.sh exits 0');
  const stopped = await marble.stop();
  t.same(stopped, { code: 0, signal: null }, 'SIGTERM: clean exit 0');
});
