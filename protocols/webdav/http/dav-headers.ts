import { HttpError } from '../errors.js';

/** Parsers for the WebDAV request headers: Depth, Overwrite, Timeout, Lock-Token. */

export type Depth = 0 | 1 | 'infinity';

export function parseDepth(value: string | undefined, fallback: Depth): Depth {
  if (value === undefined) return fallback;
  const v = value.trim().toLowerCase();
  if (v === '0') return 0;
  if (v === '1') return 1;
  if (v === 'infinity') return 'infinity';
  throw new HttpError(400, `invalid Depth header: ${value.slice(0, 40)}`);
}

export function parseOverwrite(value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.trim().toUpperCase();
  if (v === 'T') return true;
  if (v === 'F') return false;
  throw new HttpError(400, 'invalid Overwrite header (T or F)');
}

export const DEFAULT_LOCK_SECONDS = 3600;
export const MAX_LOCK_SECONDS = 7 * 24 * 3600;

/** Timeout: Second-N, Infinite (first acceptable choice wins; capped). */
export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LOCK_SECONDS;
  for (const choice of value.split(',')) {
    const c = choice.trim();
    if (/^infinite$/i.test(c)) return MAX_LOCK_SECONDS;
    const m = /^second-(\d{1,12})$/i.exec(c);
    if (m) return Math.max(1, Math.min(Number(m[1]), MAX_LOCK_SECONDS));
  }
  return DEFAULT_LOCK_SECONDS;
}

/** Lock-Token: <opaquelocktoken:...> */
export function parseLockTokenHeader(value: string | undefined): string {
  const m = value === undefined ? null : /^\s*<([^>]+)>\s*$/.exec(value);
  if (!m) throw new HttpError(400, 'missing or malformed Lock-Token header');
  return m[1]!;
}
