import cliProgress from 'cli-progress';
import type { StatusReport } from '../http/server.js';
import type { SplitReport } from '../http/routes/splits.js';
import { apiClient, type ApiClient } from './api-client.js';
import { resolveSettings, type RawOptions } from './settings.js';

const POLL_MS = 500;

/**
 * `marble status`: asks the running instance over its HTTP API and prints what the status
 * page shows. On a terminal, while a sync is running, a live progress bar follows until
 * nothing is left to fetch (Ctrl-C stops watching, not the instance); otherwise plain lines.
 */
export async function runStatus(flags: RawOptions): Promise<void> {
  const api = apiClient(resolveSettings(flags));
  const get = <T>(path: string): Promise<T> => api.get<T>(path);
  let report: StatusReport;
  try {
    report = await get<StatusReport>('api/status');
  } catch (e) {
    noInstance(api, 'api/status', e);
  }
  const splits = report.splits ? await get<{ splits: SplitReport[] }>('api/splits').then((r) => r.splits, () => []) : [];
  process.stdout.write(describe(report, splits).join('\n') + '\n');
  if (!report.sync.active) return;
  if (!process.stdout.isTTY) {
    process.stdout.write(`${syncLine(report)}\n`);
    return;
  }
  await watch(report, () => get<StatusReport>('api/status'));
}

/** The report as lines, the same facts as the status page. */
export function describe(r: StatusReport, splits: readonly SplitReport[] = []): string[] {
  const lines = [
    `instance: ${r.name} (${r.id})`,
    `fingerprint: ${r.fingerprint}`,
    `data: ${r.dataDir}`,
    `peers: ${r.peers.length} connected${r.offlinePeers?.length ? `, ${r.offlinePeers.length} offline` : ''}`,
    ...r.peers.map((p) => `  ${p.name}: connected (${p.direction === 'out' ? 'dialled' : 'accepted'}), ${p.lag} behind`),
    ...(r.offlinePeers ?? []).map((p) => `  ${p.name}: offline`),
    `sync: ${r.sync.active ? syncLine(r).replace(/^sync: /, '') : 'in sync'}`,
    `to fetch: ${r.missing} files, ${mb(r.bytesToFetch)}; download queue ${r.queuedDownloads}`,
    `stored: ${r.blobs} blobs, ${mb(r.blobBytes)}, ${r.changes} changes`,
    `splits: ${r.splits}`,
    ...splits.slice(0, 10).map((sp) => `  ${sp.path ?? '(deleted)'}: ${sp.versions.map((v) => v.path ?? v.instance).join(' | ')}`),
    `history keeps: ${r.historyKeep} versions per file`,
  ];
  if (r.recent?.length) {
    lines.push('recent changes:');
    for (const c of r.recent.slice(0, 5)) lines.push(`  ${c.time.slice(0, 19).replace('T', ' ')}  ${c.kind.padEnd(6)} ${c.path ?? '?'}  (${c.instance}${c.isDir ? '' : `, ${mb(c.size)}`})`);
  }
  return lines;
}

function syncLine(r: StatusReport): string {
  return `sync: ${Math.round(r.sync.done * 100)}% (${r.sync.filesLeft} files, ${mb(r.sync.bytesLeft)} left)`;
}

/** A live bar until nothing is left to fetch. */
async function watch(first: StatusReport, poll: () => Promise<StatusReport>): Promise<void> {
  const bar = new cliProgress.SingleBar(
    { format: 'sync {bar} {percentage}% | {files} files, {bytes} left | {peers} peers', hideCursor: true, barsize: 40 },
    cliProgress.Presets.shades_classic,
  );
  const payload = (r: StatusReport) => ({ files: r.sync.filesLeft, bytes: mb(r.sync.bytesLeft), peers: r.peers.length });
  bar.start(100, Math.floor(first.sync.done * 100), payload(first));
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  let r = first;
  while (!stop && r.sync.active) {
    await new Promise((res) => setTimeout(res, POLL_MS));
    try {
      r = await poll();
    } catch (e) {
      bar.stop();
      process.stderr.write(`marble: lost the instance (${(e as Error).message})\n`);
      process.exit(1);
    }
    bar.update(r.sync.active ? Math.floor(r.sync.done * 100) : 100, payload(r));
  }
  bar.stop();
  process.stdout.write(r.sync.active ? `${syncLine(r)}\n` : `in sync: ${r.blobs} blobs, ${mb(r.blobBytes)}, ${r.changes} changes\n`);
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** Exits saying that no instance answered (and why). */
export function noInstance(api: ApiClient, path: string, e: unknown): never {
  process.stderr.write(`marble: no instance answers at ${api.base}${path} (${(e as Error).message}); is marble serve running?\n`);
  process.exit(1);
}
