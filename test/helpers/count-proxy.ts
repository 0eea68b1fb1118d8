/**
 * ../shared/tools/sync/count-proxy.js as a test fixture: a byte-counting TCP proxy between
 * two peers (B dials A through it), its totals read from its stats file.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, sharedTools, tempDir, type Teardown } from './marble.js';

export interface ProxyStats {
  /** Bytes from the dialling side to the target. */
  readonly toTarget: number;
  /** Bytes from the target to the dialling side. */
  readonly fromTarget: number;
  readonly total: number;
  readonly connections: number;
  readonly open: number;
}

export interface CountProxy {
  readonly port: number;
  readonly statsFile: string;
  /** The latest totals the proxy wrote (it rewrites the file at most every 20 ms here). */
  stats(): ProxyStats;
  /** Resolves with the totals once they have not moved for `quietMs` (rejects after `timeoutMs`). */
  settled(quietMs?: number, timeoutMs?: number): Promise<ProxyStats>;
  stop(): Promise<void>;
}

const UPDATE_MS = 20;

/** Starts count-proxy.js on a free loopback port forwarding to 127.0.0.1:targetPort; stopped at teardown. */
export async function startCountProxy(t: Teardown, targetPort: number): Promise<CountProxy> {
  const script = path.join(sharedTools, 'sync', 'count-proxy.js');
  if (!existsSync(script)) throw new Error(`${script} not found (shared/ must sit beside the repository)`);
  const dir = await tempDir(t, 'marble-proxy-');
  const statsFile = path.join(dir, 'stats.json');
  const port = await freePort();
  const proc = spawn(process.execPath, [script, String(port), `127.0.0.1:${targetPort}`, statsFile], {
    env: { ...process.env, COUNT_PROXY_MS: String(UPDATE_MS) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  const stop = async () => {
    if (running) proc.kill('SIGTERM');
    await exited;
  };
  t.teardown(stop);
  for (let i = 0; !existsSync(statsFile); i++) {
    if (!running || i > 200) throw new Error(`count-proxy.js did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const stats = (): ProxyStats => JSON.parse(readFileSync(statsFile, 'utf8')) as ProxyStats;
  const settled = async (quietMs = 1500, timeoutMs = 60_000): Promise<ProxyStats> => {
    const t0 = Date.now();
    let last = stats();
    let since = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const now = stats();
      if (now.total !== last.total) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) return now;
      if (Date.now() - t0 > timeoutMs) throw new Error(`proxy traffic did not settle within ${timeoutMs} ms (total ${now.total})`);
    }
  };
  return { port, statsFile, stats, settled, stop };
}
