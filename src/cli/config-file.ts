import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RawOptions, Settings } from './settings.js';

export type ConfigObject = Record<string, unknown>;

/**
 * Changes the JSON config file (--config, else <data>/config.json) with `edit`, replacing it
 * atomically (mode 0600: it may hold invite secrets). Returns the file's path.
 */
export function updateConfigFile(flags: RawOptions, s: Settings, edit: (config: ConfigObject) => void): string {
  const file = typeof flags.config === 'string' ? flags.config : join(s.data, 'config.json');
  const config = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ConfigObject) : {};
  edit(config);
  mkdirSync(s.data, { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Adds `values` to the list under `key`, keeping what is there. */
export function addToList(config: ConfigObject, key: string, values: readonly string[]): void {
  const list = new Set<string>(Array.isArray(config[key]) ? (config[key] as string[]) : []);
  for (const v of values) list.add(v);
  config[key] = [...list];
}
