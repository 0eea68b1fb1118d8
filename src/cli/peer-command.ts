import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeFingerprint } from '../core/keys.js';
import { resolveSettings, type RawOptions } from './settings.js';

/**
 * `marble peer add URL [--trust FINGERPRINT]`: remembers a peer (and trusts its key) in the
 * data directory's config.json; `marble serve` connects to it from its next start.
 */
export function runPeerAdd(url: string, flags: RawOptions & { fingerprint?: string }): void {
  const s = resolveSettings({ ...flags, peers: [url], trust: flags.fingerprint ? [flags.fingerprint] : [] });
  const file = typeof flags.config === 'string' ? flags.config : join(s.data, 'config.json');
  const config = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const peers = new Set<string>(Array.isArray(config.peers) ? (config.peers as string[]) : []);
  const trust = new Set<string>(Array.isArray(config.trust) ? (config.trust as string[]) : []);
  peers.add(s.peers[0]!);
  if (flags.fingerprint) trust.add(normalizeFingerprint(flags.fingerprint)!);
  config.peers = [...peers];
  config.trust = [...trust];
  mkdirSync(s.data, { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  process.stdout.write(`peer: ${s.peers[0]}\n${flags.fingerprint ? `trusted: ${normalizeFingerprint(flags.fingerprint)}\n` : ''}saved in ${file}; takes effect when marble serve (re)starts\n`);
}
