import type { StatusReport } from '../http/server.js';
import { resolveSettings, type RawOptions } from './settings.js';

/** `marble status`: asks the running instance over its HTTP API. */
export async function runStatus(flags: RawOptions): Promise<void> {
  const s = resolveSettings(flags);
  const host = s.http.host.includes(':') ? `[${s.http.host}]` : s.http.host;
  const url = `http://${host}:${s.http.port}/api/status`;
  let report: StatusReport;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    report = (await res.json()) as StatusReport;
  } catch (e) {
    process.stderr.write(`marble: no instance answers at ${url} (${(e as Error).message}); is marble serve running?\n`);
    process.exit(1);
  }
  const lines = [
    `instance: ${report.name} (${report.id})`,
    `fingerprint: ${report.fingerprint}`,
    `data: ${report.dataDir}`,
    `peers: ${report.peers.length ? report.peers.map((p) => `${p.name} (${p.direction}, ${p.lag} behind)`).join(', ') : 'none connected'}`,
    `to fetch: ${report.missing} changes, ${(report.bytesToFetch / 1e6).toFixed(1)} MB`,
    `stored: ${report.blobs} blobs, ${(report.blobBytes / 1e6).toFixed(1)} MB, ${report.changes} changes`,
    `splits: ${report.splits}`,
    `history keeps: ${report.historyKeep} versions per file`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
