import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { lockHolder } from '../core/dir-lock.js';
import { MARKER_FILE, readMarker } from '../core/identity.js';
import { loadOrCreateKey } from '../core/keys.js';
import { Store } from '../core/store.js';
import { resolveSettings, type RawOptions } from './settings.js';

function printIdentity(id: string, name: string, fingerprint: string): void {
  process.stdout.write(`id: ${id}\nfingerprint: ${fingerprint}\nname: ${name}\n`);
}

/** `marble init`: creates the instance (idempotent) and prints its id. */
export function runInit(flags: RawOptions): void {
  const s = resolveSettings(flags);
  const store = Store.open(s.data, { name: s.name });
  if (s.name && s.name !== store.instanceName) process.stderr.write(`marble: ${s.data} already holds instance "${store.instanceName}"; --name ignored\n`);
  printIdentity(store.instanceId, store.instanceName, store.key.fingerprint);
  store.close();
}

/**
 * `marble id`: the id this data directory serves under. While a server runs it is read as
 * is; otherwise the directory is opened, so a copied directory shows the new id it takes.
 */
export function runId(flags: RawOptions): void {
  const s = resolveSettings(flags);
  if (!existsSync(join(s.data, 'marble.db'))) {
    process.stderr.write(`marble: no instance in ${s.data}; run marble init --data ${s.data}\n`);
    process.exit(1);
  }
  if (lockHolder(s.data) !== null) {
    // Served right now (the database is held exclusively): the marker says who it is.
    const marker = readMarker(s.data);
    if (!marker) throw new Error(`${s.data}: served by another process, and its ${MARKER_FILE} is unreadable`);
    printIdentity(marker.instanceId, marker.name ?? '', loadOrCreateKey(s.data).fingerprint);
    return;
  }
  const store = Store.open(s.data);
  printIdentity(store.instanceId, store.instanceName, store.key.fingerprint);
  store.close();
}
