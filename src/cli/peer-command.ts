import { normalizeFingerprint } from '../core/keys.js';
import { addToList, updateConfigFile } from './config-file.js';
import { resolveSettings, type RawOptions } from './settings.js';

/**
 * `marble peer add URL [--trust FINGERPRINT]`: remembers a peer (and trusts its key) in the
 * data directory's config.json; `marble serve` connects to it from its next start.
 */
export function runPeerAdd(url: string, flags: RawOptions & { fingerprint?: string }): void {
  const s = resolveSettings({ ...flags, peers: [url], trust: flags.fingerprint ? [flags.fingerprint] : [] });
  const fingerprint = flags.fingerprint ? normalizeFingerprint(flags.fingerprint)! : null;
  const file = updateConfigFile(flags, s, (config) => {
    addToList(config, 'peers', [s.peers[0]!]);
    addToList(config, 'trust', fingerprint ? [fingerprint] : []);
  });
  process.stdout.write(`peer: ${s.peers[0]}\n${fingerprint ? `trusted: ${fingerprint}\n` : ''}saved in ${file}; takes effect when marble serve (re)starts\n`);
}
