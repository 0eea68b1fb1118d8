/**
 * The Dockerfile cannot be built here (no Docker engine), so this checks what can be: its
 * shape (two stages, non-root user, /data volume, ports, HEALTHCHECK), and that its exact
 * start command and HEALTHCHECK command work when run directly with the image's kind of
 * environment (token from MARBLE_API_TOKEN), in a private network namespace so the fixed
 * ports on 0.0.0.0 collide with nothing.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot, tempDir } from '../helpers/marble.js';

const run = promisify(execFile);
const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');

function execForm(line: RegExp): string[] {
  const m = line.exec(dockerfile);
  if (!m) throw new Error(`Dockerfile: no ${line}`);
  return JSON.parse(m[1]!) as string[];
}

t.test('the Dockerfile: build and runtime stages, non-root, volume, ports, healthcheck', async (t) => {
  t.match(dockerfile, /^FROM node:20\S* AS build$/m, 'a build stage');
  t.match(dockerfile, /^COPY --from=build \/app\/node_modules node_modules$/m, 'runtime takes the pruned production node_modules');
  t.match(dockerfile, /npm prune --omit=dev/, 'dev dependencies pruned after the build');
  t.match(dockerfile, /^USER marble$/m, 'runs as a non-root user');
  t.match(dockerfile, /^VOLUME \["\/data"\]$/m, 'data on a volume');
  t.match(dockerfile, /^EXPOSE 8437 8438 8439$/m, 'ports exposed');
  t.same(execForm(/^CMD (\[.*\])$/m), ['node', 'bin/marble.js', 'serve', '--data', '/data', '--webdav', '0.0.0.0:8437', '--http', '0.0.0.0:8438', '--nfs', '0.0.0.0:8439']);
});

const netns = await run('unshare', ['-n', 'true']).then(() => true, () => false);

t.test("the image's start command and healthcheck, run directly", { skip: netns ? false : 'unshare -n is not permitted here (needs root)' }, async (t) => {
  const data = path.join(await tempDir(t, 'marble-docker-'), 'data');
  const token = 'probe-token-0123456789';
  const { stdout } = await run('unshare', ['-n', 'bash', '-c', 'ip link set lo up && exec "$@"', '_', process.execPath, path.join(repoRoot, 'dist/test/helpers/docker-probe.js')], {
    cwd: repoRoot,
    timeout: 60_000,
    env: {
      ...process.env,
      PROBE_CMD: JSON.stringify(execForm(/^CMD (\[.*\])$/m)),
      PROBE_HEALTH: JSON.stringify(execForm(/^HEALTHCHECK .*?CMD (\[.*\])$/m)),
      PROBE_DATA: data,
      PROBE_TOKEN: token,
    },
  });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  t.match(r.stdout, /^webdav: http:\/\/0\.0\.0\.0:8437\/\nhttp: http:\/\/0\.0\.0\.0:8438\/\nnfs: 0\.0\.0\.0:8439\nready$/m, `serves on the image's ports ${String(r.stderr)}`);
  t.equal(r.health, 0, 'the HEALTHCHECK command passes');
  t.equal(r.healthRoute, 200, '/health is open');
  t.equal(r.statusNoToken, 401, 'beyond loopback the API wants the token');
  t.equal(r.statusToken, 200, 'MARBLE_API_TOKEN from the environment is accepted');
  t.equal(r.metricsToken, 200, '/metrics with the token');
  t.ok((r.webdav as number) > 0 && (r.webdav as number) < 300, 'WebDAV answers');
  t.equal(r.peerUpgrade, 'HTTP/1.1 101 Switching Protocols', '/peer is not behind the token (peers authenticate with keys)');
  t.equal(r.exit, 0, 'SIGTERM: a clean exit');
});
