import { HttpError } from '../errors.js';

/**
 * Request targets to view paths and back. A path is decoded exactly once; a segment that
 * decodes to '.', '..', or contains '/' or NUL is refused, so a request can never name
 * anything outside the tree (the view refuses them too).
 */
export interface TargetPath {
  /** View path: '/' or '/a/b', decoded. */
  readonly path: string;
  /** The request URL ended with '/'. */
  readonly trailingSlash: boolean;
}

/** The request line's target: like parseTarget, but a fragment ('#') is refused, not dropped. */
export function parseRequestTarget(raw: string): TargetPath {
  if (raw.includes('#')) throw new HttpError(400, 'a request URL cannot carry a fragment (#); percent-encode it as %23');
  return parseTarget(raw);
}

/** A URL or absolute path (request line, Destination, If resource tags) to a view path. */
export function parseTarget(raw: string): TargetPath {
  let rest = raw;
  if (rest === '*') return { path: '/', trailingSlash: true };
  if (!rest.startsWith('/')) {
    // absolute-form (RFC 9112 §3.2.2) or a full URL in Destination / If tags
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(rest);
    if (!m) throw new HttpError(400, `not a path: ${raw.slice(0, 200)}`);
    rest = m[1] === '' ? '/' : m[1]!;
    if (!rest.startsWith('/')) rest = '/' + rest;
  }
  const cut = rest.search(/[?#]/);
  if (cut >= 0) rest = rest.slice(0, cut);
  const parts: string[] = [];
  for (const raw of rest.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, 'malformed percent-encoding in path');
    }
    if (seg === '.' || seg === '..' || /[/\0]/.test(seg)) {
      throw new HttpError(400, 'path segment not allowed (., .., encoded slash or NUL)');
    }
    parts.push(seg);
  }
  return { path: '/' + parts.join('/'), trailingSlash: rest.endsWith('/') && parts.length > 0 };
}

const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;

/** Percent-encodes a view path for an href: everything but unreserved characters in each segment. */
export function hrefOf(path: string, isDir: boolean): string {
  if (path === '/') return '/';
  if (UNRESERVED_PATH.test(path)) return isDir ? path + '/' : path; // nothing to encode (most names)
  const encoded = path
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()))
    .join('/');
  return isDir ? encoded + '/' : encoded;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function childPath(dir: string, name: string): string {
  return dir === '/' ? '/' + name : dir + '/' + name;
}

/** True if `path` is `ancestor` or inside it. */
export function isWithin(path: string, ancestor: string): boolean {
  return ancestor === '/' || path === ancestor || path.startsWith(ancestor + '/');
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
