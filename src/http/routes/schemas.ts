/** A query string that must be empty: unknown parameters are a 400, not silently ignored. */
export const NO_QUERY = { querystring: { type: 'object', additionalProperties: false, properties: {} } } as const;

/** An absolute path in the tree, as the API takes it. */
export const PATH = { type: 'string', minLength: 1, maxLength: 4096, pattern: '^/' } as const;

/** URL of `path` on the WebDAV front end (each segment percent-encoded), or null. */
export function davLink(webdavUrl: string | undefined, path: string): string | null {
  if (!webdavUrl) return null;
  return webdavUrl.replace(/\/$/, '') + path.split('/').map(encodeURIComponent).join('/');
}
