/**
 * Operations, end to end, on two real instances (a, and b dialling a through a throttled
 * link so the sync lasts a few seconds): b is stopped while 2,000 files are written to a,
 * then started and catches up. Meanwhile:
 *   - its /metrics is sampled: queue and missing rise then fall to zero, block counters
 *     grow by at least one block a file, peers connected matches the sessions;
 *   - its status page in headless Chromium (playwright-core) shows peer a connected and a
 *     progress bar, and is screenshotted mid-sync and after (MARBLE_SCREENSHOT_DIR keeps them);
 *   - `marble status` prints plain lines when piped, a live bar in a terminal (tmux);
 *   - a real Prometheus scrapes both: every dashboard expression returns data, and every
 *     metric the dashboard uses is in /metrics.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { NFS_PROGRAM } from '../../protocols/nfs/constants.js';
import { RpcClient } from '../../protocols/nfs/rpc/client.js';
import { eventually } from '../helpers/cluster.js';
import { put, request } from '../helpers/http.js';
import { freePort, marbleBin, repoRoot, runMarbleCli, runTool, startMarble, tempDir, type Marble, type Teardown } from '../helpers/marble.js';

const run = promisify(execFile);
const FILES = 2000;
/** Above the 64 KiB inline limit: every file's content travels as a block, through the download queue. */
const SIZE = 66 * 1024;
/** Bytes per second from a to b: the 135 MB sync takes about 7 s. */
const LINK_RATE = 20e6;
const DASHBOARD = path.join(repoRoot, 'grafana', 'marble.json');

type Samples = Map<string, number>;

/** Resolves once the status page's sync line starts with `prefix` (the function runs in the page). */
function syncLine(page: Page, prefix: string, timeout: number): Promise<unknown> {
  return page.waitForFunction(
    (p) => ((globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById('sync-state')?.textContent ?? '').startsWith(p),
    prefix,
    { timeout },
  );
}

/** Prometheus text → "name{labels}" → value (comments skipped). */
function parseMetrics(text: string): Samples {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function scrape(m: Marble): Promise<Samples> {
  const r = await request(`${m.http}metrics`);
  if (r.status !== 200) throw new Error(`/metrics: HTTP ${r.status}`);
  return parseMetrics(r.body.toString());
}

async function statusOf(m: Marble): Promise<Record<string, any>> {
  return JSON.parse((await request(`${m.http}api/status`)).body.toString()) as Record<string, any>;
}

/** A TCP proxy whose target→client direction is limited to `rate` bytes/s. */
async function throttledProxy(t: Teardown, targetPort: number, rate: number): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    let budgetAt = Date.now();
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      budgetAt = Math.max(budgetAt, Date.now()) + (chunk.length / rate) * 1000;
      const wait = budgetAt - Date.now();
      if (wait > 5) {
        upstream.pause();
        setTimeout(() => upstream.resume(), wait);
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

/** A few NFS calls (NULL, and GETATTR of a bogus handle: ERR_BADHANDLE) so the NFS series exist. */
async function nfsCalls(m: Marble): Promise<void> {
  const c = await RpcClient.connect(m.nfsPort);
  try {
    await c.call(NFS_PROGRAM, 3, 0);
    await c.call(NFS_PROGRAM, 3, 1, (w) => w.writeOpaque(Buffer.alloc(8)));
  } finally {
    c.close();
  }
}

t.test('metrics, status page, marble status and the dashboard during a sync of 2,000 files', async (t) => {
  const root = await tempDir(t, 'marble-ops-');
  const ids: Record<string, { data: string; fingerprint: string; port: number }> = {};
  for (const name of ['a', 'b']) {
    const data = path.join(root, name);
    const { stdout } = await runMarbleCli(['init', '--data', data, '--name', name]);
    ids[name] = { data, fingerprint: /^fingerprint: (\S+)$/m.exec(stdout)![1]!, port: await freePort() };
  }
  const a = await startMarble(t, { data: ids.a!.data, name: 'a', args: ['--http', `127.0.0.1:${ids.a!.port}`, '--trust', ids.b!.fingerprint] });
  const link = await throttledProxy(t, ids.a!.port, LINK_RATE);
  const bArgs = ['--http', `127.0.0.1:${ids.b!.port}`, '--trust', ids.a!.fingerprint, '--peer', `ws://127.0.0.1:${link}/peer`];
  let b = await startMarble(t, { data: ids.b!.data, name: 'b', args: bArgs });
  await eventually('a and b connected', async () => (await scrape(a)).get('marble_replication_peers_connected') === 1 && (await scrape(b)).get('marble_replication_peers_connected') === 1, 20_000, 50);

  // Prometheus scraping both (it keeps scraping b's port while b is down and back)
  const promDir = path.join(root, 'prom');
  const prom = await runTool('prom/prom-run.sh', ['start', promDir, `127.0.0.1:${ids.a!.port},127.0.0.1:${ids.b!.port}`], { timeoutMs: 90_000 });
  t.teardown(() => runTool('prom/prom-run.sh', ['stop', promDir], { timeoutMs: 30_000 }));
  t.equal(prom.code, 0, `prom-run.sh started Prometheus ${prom.stderr.slice(-500)}`);
  const promUrl = /^PROM_URL=(\S+)$/m.exec(prom.stdout)?.[1];
  if (!promUrl) throw new Error(`no PROM_URL from prom-run.sh: ${prom.stdout}\n${prom.stderr}`);

  await b.stop();
  await eventually('a sees b gone', async () => (await scrape(a)).get('marble_replication_peers_connected') === 0, 20_000, 50);
  t.same((await statusOf(a)).peers, [], 'a: no peer connected while b is down, and its metric says 0');

  // 2,000 files of random content into a
  const t0 = Date.now();
  const names = Array.from({ length: FILES }, (_, i) => `f${String(i).padStart(4, '0')}.bin`);
  await request(`${a.webdav}sync`, { method: 'MKCOL' });
  for (let i = 0; i < names.length; i += 16) await Promise.all(names.slice(i, i + 16).map((n) => put(`${a.webdav}sync/${n}`, randomBytes(SIZE))));
  t.comment(`wrote ${FILES} files to a in ${Date.now() - t0} ms`);
  await nfsCalls(a);

  // b comes back: sample its metrics while it catches up
  const before = await scrape(a);
  const browser: Browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--hide-scrollbars'],
    env: { ...process.env, HOME: root, XDG_CONFIG_HOME: path.join(root, '.config'), XDG_CACHE_HOME: path.join(root, '.cache') },
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

  b = await startMarble(t, { data: ids.b!.data, name: 'b', args: bArgs });
  const samples: Array<{ ms: number; queue: number; missing: number; blocks: number; bytes: number; peers: number }> = [];
  let sampling = true;
  t.teardown(() => {
    sampling = false;
  });
  const sampler = (async () => {
    while (sampling) {
      const s = await scrape(b).catch(() => null);
      if (s) {
        samples.push({
          ms: Date.now(),
          queue: s.get('marble_replication_download_queue')!,
          missing: s.get('marble_replication_missing_changes')!,
          blocks: s.get('marble_replication_blocks_received_total')!,
          bytes: s.get('marble_replication_bytes_received_total')!,
          peers: s.get('marble_replication_peers_connected')!,
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await eventually('b has content to fetch', async () => samples.some((s) => s.missing > 0), 20_000, 20);

  // mid-sync: the status page, marble status piped and in a terminal
  const shots = process.env.MARBLE_SCREENSHOT_DIR ?? root;
  mkdirSync(shots, { recursive: true });
  const tmuxSock = `marble-ops-${process.pid}`;
  const tmux = (...args: string[]) => run('tmux', ['-L', tmuxSock, ...args], { env: { ...process.env, TERM: 'xterm-256color' } });
  t.teardown(() => tmux('kill-server').catch(() => undefined));
  await tmux('new-session', '-d', '-x', '120', '-y', '30', `${process.execPath} ${marbleBin} status --data ${ids.b!.data} --http 127.0.0.1:${ids.b!.port}; sleep 60`);
  const piped = await runMarbleCli(['status', '--data', ids.b!.data, '--http', `127.0.0.1:${ids.b!.port}`]);

  await page.goto(b.http);
  await syncLine(page, 'syncing', 20_000);
  const mid = {
    state: await page.textContent('#sync-state'),
    peers: await page.textContent('#peer-count'),
    peerRow: await page.textContent('tr[data-peer="a"]'),
    files: Number(await page.textContent('#files-left')),
    bar: Number(await page.getAttribute('#bar', 'aria-valuenow')),
  };
  await page.screenshot({ path: path.join(shots, 'status-page-syncing.png') });
  let screen = '';
  const bar = /sync [\u2588\u2591]+ \d+% \| \d+ files, [\d.]+ MB left \| 1 peers/;
  await eventually('the bar is drawn in the terminal', async () => bar.test((screen = (await tmux('capture-pane', '-p')).stdout)), 10_000, 100).catch(() => undefined);
  t.comment(`page mid-sync: ${JSON.stringify(mid)}`);
  t.comment(`tmux:\n${screen.trimEnd()}`);

  t.equal(mid.peers, 'peers: 1 connected', 'the page shows one peer connected');
  t.match(mid.peerRow, /^a\s*connected/, 'peer a, connected');
  t.ok(mid.files > 0 && mid.files <= FILES, `files still to fetch on the page: ${mid.files}`);
  t.ok(mid.bar >= 0 && mid.bar < 100, `progress bar at ${mid.bar}%`);
  t.match(piped.stdout, /^peers: 1 connected$/m, 'marble status piped: peers');
  t.match(piped.stdout, /^sync: \d+% \(\d+ files, [\d.]+ MB left\)$/m, 'marble status piped: a plain sync line, no bar');
  t.notMatch(piped.stdout, /[\u2588\u2591]/, 'no bar characters when piped');
  t.match(screen, bar, 'marble status in a terminal: a live bar');

  await eventually('b caught up', async () => {
    const s = await statusOf(b);
    return s.missing === 0 && s.queuedDownloads === 0 && s.changes >= FILES;
  }, 120_000, 100);
  sampling = false;
  await sampler;
  const last = await scrape(b);
  await syncLine(page, 'in sync', 10_000);
  await page.screenshot({ path: path.join(shots, 'status-page-in-sync.png') });
  t.comment(`screenshots in ${shots}`);
  await eventually('the bar ran to the end in the terminal', async () => /in sync: /.test((await tmux('capture-pane', '-p')).stdout), 10_000, 100);

  // the metrics moved as they should
  const peak = (k: 'queue' | 'missing') => Math.max(...samples.map((s) => s[k]));
  t.ok(samples.length >= 10, `${samples.length} samples over ${samples[samples.length - 1]!.ms - samples[0]!.ms} ms`);
  t.ok(peak('missing') > FILES / 4, `missing changes rose (peak ${peak('missing')})`);
  t.ok(peak('queue') > 0, `download queue rose (peak ${peak('queue')})`);
  t.equal(last.get('marble_replication_missing_changes'), 0, 'missing back to zero');
  t.equal(last.get('marble_replication_download_queue'), 0, 'queue back to zero');
  const firstMissing = samples.findIndex((s) => s.missing === peak('missing'));
  t.ok(samples.slice(firstMissing).every((s, i, all) => i === 0 || s.missing <= all[i - 1]!.missing), 'missing only fell after its peak (nothing new was written)');
  t.ok(last.get('marble_replication_blocks_received_total')! >= FILES, `blocks received: ${last.get('marble_replication_blocks_received_total')}`);
  t.ok(last.get('marble_replication_bytes_received_total')! >= FILES * SIZE, 'bytes received cover the files');
  t.ok(samples.every((s, i) => i === 0 || s.blocks >= samples[i - 1]!.blocks), 'the block counter never went back');
  const after = await scrape(a);
  t.ok(after.get('marble_replication_blocks_sent_total')! - before.get('marble_replication_blocks_sent_total')! >= FILES, 'a counted the blocks it sent');
  t.ok(after.get('marble_store_changes_committed_total{origin="local"}')! >= FILES, 'a: local commits counted');
  t.ok(last.get('marble_store_changes_committed_total{origin="remote"}')! >= FILES, 'b: remote changes counted');
  t.equal(last.get('marble_replication_peers_connected'), 1, 'b: one peer connected');
  t.equal(((await statusOf(b)).peers as unknown[]).length, 1, '… as the API says');
  t.equal(last.get('marble_replication_peer_lag_changes{peer="a"}'), 0, 'b: peer a is not behind');
  t.match(after.get('process_resident_memory_bytes'), Number, 'process defaults are there');

  // Prometheus: fresh requests so every rate has something, two scrapes, then the dashboard
  await nfsCalls(b);
  for (const m of [a, b]) for (const n of names.slice(0, 20)) await request(`${m.webdav}sync/${n}`);
  const served = await scrape(a);
  t.ok(served.get('marble_webdav_requests_total{method="GET",status="200"}')! >= 20, 'a counted its WebDAV GETs by method and status');
  t.ok(served.get('marble_webdav_request_duration_seconds_count{method="GET"}')! >= 20, '… and timed them');
  await new Promise((r) => setTimeout(r, 2500));
  const check = await runTool('prom/check-dashboard.sh', [promUrl, DASHBOARD], { timeoutMs: 60_000 });
  t.equal(check.code, 0, 'check-dashboard.sh: every expression returns data');
  t.match(check.stdout, /check-dashboard: \d+ ok, 0 empty, 0 error/);
  t.notMatch(check.stdout, /^(EMPTY|ERROR) /m, check.stdout.split('\n').filter((l) => !l.startsWith('OK ')).join('\n'));
  const peakInProm = await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(`max_over_time(marble_replication_missing_changes{instance="127.0.0.1:${ids.b!.port}"}[5m])`)}`)).json() as { data: { result: Array<{ value: [number, string] }> } };
  t.ok(Number(peakInProm.data.result[0]?.value[1]) > 0, `Prometheus saw b's missing changes rise (max ${peakInProm.data.result[0]?.value[1]})`);

  const used = await runTool('prom/check-dashboard.sh', ['--metrics', DASHBOARD]);
  const names_ = used.stdout.split('\n').filter(Boolean).map((n) => n.replace(/_(bucket|sum|count)$/, ''));
  t.ok(names_.length >= 15, `the dashboard uses ${names_.length} metrics`);
  const exposed = (await request(`${a.http}metrics`)).body.toString();
  for (const n of names_) t.match(exposed, new RegExp(`^# TYPE ${n} `, 'm'), `${n} is in /metrics`);

  // peers connected follows reality
  await b.stop();
  await eventually('a: peer gone', async () => (await scrape(a)).get('marble_replication_peers_connected') === 0, 20_000, 50);
  t.notOk([...(await scrape(a)).keys()].some((k) => k.startsWith('marble_replication_peer_lag_changes{')), 'a: no lag series for a peer that left');
});
