import { InvalidName } from './errors.js';

export const HISTORY_DIR = '.history';
export const SPLITS_DIR = '.splits';
/** Names at the root that belong to the view itself and cannot be created by users. */
export const RESERVED_ROOT_NAMES: ReadonlySet<string> = new Set([HISTORY_DIR, SPLITS_DIR]);

const MAX_NAME_BYTES = 255;

/**
 * Splits an absolute view path into validated segments. A trailing slash is allowed;
 * empty, '.', '..' segments, NUL, and names over 255 bytes are rejected, so no path
 * can step outside the tree.
 */
export function splitPath(path: string): string[] {
  if (!path.startsWith('/')) throw InvalidName(path);
  const parts = path.split('/').slice(1);
  if (parts.length && parts[parts.length - 1] === '') parts.pop();
  for (const p of parts) checkName(p, path);
  return parts;
}

export function checkName(name: string, context = name): void {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0') || Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw InvalidName(context);
  }
}

export function joinPath(parts: readonly string[]): string {
  return '/' + parts.join('/');
}
