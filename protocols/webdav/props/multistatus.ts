import { escapeXml, propTags } from '../xml/xml-write.js';
import type { PropName } from './prop-name.js';

/** Builders for DAV:multistatus fragments. */
export const MULTISTATUS_OPEN = '<D:multistatus xmlns:D="DAV:">';
export const MULTISTATUS_CLOSE = '</D:multistatus>';

const REASONS: Record<number, string> = {
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  424: 'Failed Dependency',
  507: 'Insufficient Storage',
};

export function statusLine(status: number): string {
  return `<D:status>HTTP/1.1 ${status} ${REASONS[status] ?? ''}</D:status>`;
}

export function propstat(props: string, status: number, extra = ''): string {
  return `<D:propstat><D:prop>${props}</D:prop>${statusLine(status)}${extra}</D:propstat>`;
}

export function responseXml(href: string, propstats: string): string {
  return `<D:response><D:href>${escapeXml(href)}</D:href>${propstats}</D:response>`;
}

/** A property element with its value (already XML), or empty. */
export function propXml(name: PropName, value: string): string {
  const t = propTags(name.ns, name.local);
  return value === '' ? t.empty : t.open + value + t.close;
}
