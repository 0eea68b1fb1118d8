import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { lockHolder } from '../core/dir-lock.js';
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
    const db = new Database(join(s.data, 'marble.db'), { readonly: true });
    const get = (k: string) => (db.prepare('SELECT value FROM config WHERE key = ?').get(k) as { value: string } | undefined)?.value ?? '';
    printIdentity(get('instance_id'), get('instance_name'), loadOrCreateKey(s.data).fingerprint);
    db.close();
    return;
  }
  const store = Store.open(s.data);
  printIdentity(store.instanceId, store.instanceName, store.key.fingerprint);
  store.close();
}
