import type { InviteReport } from '../http/routes/invites.js';
import { decodeInvite } from '../replication/invites.js';
import { apiClient } from './api-client.js';
import { addToList, updateConfigFile } from './config-file.js';
import { resolveSettings, type RawOptions } from './settings.js';
import { noInstance } from './status.js';

/**
 * `marble invite [--url WS_URL] [--valid-hours N]`: asks the running instance for a one-time
 * invite code and prints it with what to run on the other machine.
 */
export async function runInvite(flags: RawOptions & { url?: string; validHours?: string }): Promise<void> {
  const api = apiClient(resolveSettings(flags));
  const body: { url?: string; validHours?: number } = {};
  if (flags.url) body.url = flags.url;
  if (flags.validHours !== undefined) body.validHours = Number(flags.validHours);
  let invite: InviteReport;
  try {
    invite = await api.post<InviteReport>('api/invites', body);
  } catch (e) {
    noInstance(api, 'api/invites', e);
  }
  process.stdout.write(
    `invite: ${invite.code}\n` +
      `peer: ${invite.url}\nfingerprint: ${invite.fingerprint}\nvalid until: ${invite.expiresAt} (works once)\n` +
      `on the other machine: marble join ${invite.code}\n`,
  );
}

/**
 * `marble join CODE`: trusts the inviting instance's key, remembers its URL and the invite's
 * secret in config.json; `marble serve` dials it from its next start and is trusted in turn.
 */
export function runJoin(code: string, flags: RawOptions): void {
  let invite;
  try {
    invite = decodeInvite(code);
  } catch (e) {
    process.stderr.write(`marble join: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const s = resolveSettings({ ...flags, peers: [invite.url] });
  const file = updateConfigFile(flags, s, (config) => {
    addToList(config, 'peers', [invite.url]);
    addToList(config, 'trust', [invite.fingerprint]);
    const secrets = config.invites && typeof config.invites === 'object' ? (config.invites as Record<string, string>) : {};
    config.invites = { ...secrets, [invite.url]: invite.secret };
  });
  process.stdout.write(`peer: ${invite.url}\ntrusted: ${invite.fingerprint}\nsaved in ${file}; takes effect when marble serve (re)starts\n`);
}
