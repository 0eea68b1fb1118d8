/**
 * Runs the Dockerfile's start command as the image would (cwd = the app, `node` on PATH, the
 * given environment), with only `/data` pointed at a fresh directory, then its HEALTHCHECK
 * command, a few requests, and SIGTERM. Meant to run inside a private network namespace
 * (`unshare -n`), where the fixed ports 8437-8439 on 0.0.0.0 cannot collide with anything.
 * Input: env PROBE_CMD and PROBE_HEALTH (JSON arrays), PROBE_DATA, PROBE_TOKEN. Output: one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { repoRoot } from './marble.js';

const cmd = (JSON.parse(process.env.PROBE_CMD!) as string[]).map((a) => (a === '/data' ? process.env.PROBE_DATA! : a));
const health = JSON.parse(process.env.PROBE_HEALTH!) as string[];
const token = process.env.PROBE_TOKEN!;

const child = spawn(cmd[0]!, cmd.slice(1), { cwd: repoRoot, env: { ...process.env, MARBLE_API_TOKEN: token, MARBLE_NAME: 'box' }, stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
let err = '';
child.stdout.on('data', (b: Buffer) => (out += b));
child.stderr.on('data', (b: Buffer) => (err += b));
const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));

const deadline = Date.now() + 30_000;
while (!/^ready$/m.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));

const status = async (path: string, headers: Record<string, string> = {}) => (await fetch(`http://127.0.0.1:8438${path}`, { headers }).catch(() => ({ status: 0 }))).status;
const upgrade = () =>
  new Promise<string>((resolve) => {
    const s = net.connect(8438, '127.0.0.1', () =>
      s.write('GET /peer HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'),
    );
    s.once('data', (b) => {
      resolve(b.toString().split('\r\n')[0]!);
      s.destroy();
    });
    s.on('error', (e) => resolve(String(e)));
  });
const result = {
  stdout: out,
  health: spawnSync(health[0]!, health.slice(1), { cwd: repoRoot, timeout: 10_000 }).status,
  statusNoToken: await status('/api/status'),
  statusToken: await status('/api/status', { authorization: `Bearer ${token}` }),
  metricsToken: await status('/metrics', { authorization: `Bearer ${token}` }),
  healthRoute: await status('/health'),
  webdav: (await fetch('http://127.0.0.1:8437/', { method: 'OPTIONS' }).catch(() => ({ status: 0 }))).status,
  peerUpgrade: await upgrade(),
  exit: null as number | null,
  stderr: '',
};
child.kill('SIGTERM');
result.exit = await exited;
result.stderr = err.slice(-2000);
process.stdout.write(JSON.stringify(result) + '\n');
