import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * Where a data directory lives: if any of this differs from what its marker recorded,
 * the directory was copied or moved (restored backup, cloned VM) and must not keep
 * minting ids under the old instance id.
 */
export interface Place {
  readonly host: string;
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

export interface Marker extends Place {
  readonly instanceId: string;
  /** The instance's name, so tools can show it without opening the database. */
  readonly name?: string;
}

export const MARKER_FILE = '.marble_unique';

function hostIdentity(): string {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(f, 'utf8').trim();
      if (id) return `${hostname()}/${id}`;
    } catch {
      // not on this system
    }
  }
  return hostname();
}

export function currentPlace(dataDir: string): Place {
  const st = statSync(dataDir);
  return { host: hostIdentity(), path: realpathSync(dataDir), dev: st.dev, ino: st.ino };
}

export function readMarker(dataDir: string): Marker | null {
  const file = join(dataDir, MARKER_FILE);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Marker;
  } catch {
    return null; // unreadable marker: treat as moved, which is the safe side
  }
}

export function writeMarker(dataDir: string, marker: Marker): void {
  const file = join(dataDir, MARKER_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify(marker) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function samePlace(a: Place, b: Place): boolean {
  return a.host === b.host && a.path === b.path && a.dev === b.dev && a.ino === b.ino;
}

export function newInstanceId(): string {
  return randomUUID();
}
