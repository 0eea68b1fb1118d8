import type { IncomingMessage } from 'node:http';
import type { Entry } from '../../../src/fs/types.js';
import { headerOf } from './header.js';
import { httpDate } from './dates.js';

/** Validators and RFC 9110 §13 preconditions (If-Match, If-None-Match, If-(Un)Modified-Since). */

/** Strong ETag from the content tag; characters not allowed in an entity-tag are hex-escaped. */
export function etagOf(entry: Entry): string {
  const tag = /^[\x21\x23-\x7e]+$/.test(entry.contentTag)
    ? entry.contentTag
    : Buffer.from(entry.contentTag, 'utf8').toString('hex');
  return `"${tag}"`;
}

/** Recovers the content tag from one of our ETags (for view.writeFile's ifContentTag), or null. */
export function contentTagOfEtag(etag: string): string | null {
  const m = /^"([^"]*)"$/.exec(etag.trim());
  return m ? m[1]! : null;
}

export function lastModifiedOf(entry: Entry): string {
  return httpDate(entry.mtimeNs);
}

/** Seconds since the epoch, the resolution of HTTP dates. */
function mtimeSeconds(entry: Entry): number {
  return Number(entry.mtimeNs / 1_000_000_000n);
}

/** Entity tags in a list header; '*' is returned as ['*']. Malformed members are dropped. */
export function parseEtagList(value: string): string[] {
  if (value.trim() === '*') return ['*'];
  return value.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

function weakEqual(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

function strongEqual(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b;
}

function httpDateSeconds(value: string | undefined): number | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}

export type PreconditionResult = 'proceed' | 304 | 412;

/**
 * Evaluates the HTTP preconditions in RFC 9110 §13.2.2 order. `entry` is null when the
 * target does not exist. GET/HEAD get 304 where other methods get 412.
 */
export function evaluatePreconditions(req: IncomingMessage, entry: Entry | null): PreconditionResult {
  const h = req.headers;
  const safe = req.method === 'GET' || req.method === 'HEAD';
  const etag = entry ? etagOf(entry) : null;
  if (h['if-match'] !== undefined) {
    const tags = parseEtagList(h['if-match']);
    if (!entry) return 412;
    if (!(tags[0] === '*' || tags.some((t) => strongEqual(t, etag!)))) return 412;
  } else if (h['if-unmodified-since'] !== undefined && entry) {
    const since = httpDateSeconds(h['if-unmodified-since']);
    if (since !== null && mtimeSeconds(entry) > since) return 412;
  }
  if (h['if-none-match'] !== undefined) {
    const tags = parseEtagList(h['if-none-match']);
    const matches = entry !== null && (tags[0] === '*' || tags.some((t) => weakEqual(t, etag!)));
    if (matches) return safe ? 304 : 412;
  } else if (safe && h['if-modified-since'] !== undefined && entry) {
    const since = httpDateSeconds(h['if-modified-since']);
    if (since !== null && mtimeSeconds(entry) <= since) return 304;
  }
  return 'proceed';
}

/** If-Range (RFC 9110 §13.1.5): true when the Range header may be honoured. */
export function ifRangeAllows(req: IncomingMessage, entry: Entry): boolean {
  const v = headerOf(req, 'if-range');
  if (v === undefined) return true;
  if (v.startsWith('"') || v.startsWith('W/')) return strongEqual(v.trim(), etagOf(entry));
  const since = httpDateSeconds(v);
  return since !== null && mtimeSeconds(entry) <= since;
}
