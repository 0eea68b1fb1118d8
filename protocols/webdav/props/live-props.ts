import type { Entry, SpaceInfo } from '../../../src/fs/types.js';
import { etagOf, lastModifiedOf } from '../http/conditional.js';
import { isoDate } from '../http/dates.js';
import { contentTypeOf } from '../http/mime.js';
import { escapeXml } from '../xml/xml-write.js';
import type { ActiveLock, LockTable } from '../locks/lock-table.js';
import { activeLockXml } from '../locks/lock-xml.js';

/**
 * Live properties (RFC 4918 §15, RFC 4331 quota): computed from the entry, never stored,
 * and protected (PROPPATCH on them is refused with 403).
 */
export interface LivePropInput {
  readonly entry: Entry;
  readonly path: string;
  readonly locks: LockTable;
  /** Only present when a quota property was asked for (it costs a view call). */
  readonly space: SpaceInfo | null;
}

interface LiveProp {
  /** Returned by allprop (RFC 4918 says allprop returns the RFC's live properties, not quota). */
  readonly inAllprop: boolean;
  /** Inner XML of the property element, or null when it does not apply to this resource. */
  value(input: LivePropInput): string | null;
}

const SUPPORTED_LOCK =
  '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';

export const LIVE_PROPS: ReadonlyMap<string, LiveProp> = new Map<string, LiveProp>([
  ['resourcetype', { inAllprop: true, value: ({ entry }) => (entry.isDir ? '<D:collection/>' : '') }],
  ['getcontentlength', { inAllprop: true, value: ({ entry }) => (entry.isDir ? null : String(entry.size)) }],
  ['getlastmodified', { inAllprop: true, value: ({ entry }) => lastModifiedOf(entry) }],
  ['getetag', { inAllprop: true, value: ({ entry }) => (entry.isDir ? null : escapeXml(etagOf(entry))) }],
  ['creationdate', { inAllprop: true, value: ({ entry }) => isoDate(entry.birthNs) }],
  ['displayname', { inAllprop: true, value: ({ entry }) => escapeXml(entry.name) }],
  ['getcontenttype', { inAllprop: true, value: ({ entry }) => (entry.isDir ? null : contentTypeOf(entry.name)) }],
  ['supportedlock', { inAllprop: true, value: () => SUPPORTED_LOCK }],
  [
    'lockdiscovery',
    {
      inAllprop: true,
      value: ({ path, locks }) => locks.covering(path).map((l: ActiveLock) => activeLockXml(l, locks)).join(''),
    },
  ],
  ['quota-available-bytes', { inAllprop: false, value: ({ space }) => (space ? String(space.availableBytes) : null) }],
  ['quota-used-bytes', { inAllprop: false, value: ({ space }) => (space ? String(space.usedBytes) : null) }],
]);

export function isLiveProp(ns: string, local: string): boolean {
  return ns === 'DAV:' && LIVE_PROPS.has(local);
}

export function needsSpace(ns: string, local: string): boolean {
  return ns === 'DAV:' && (local === 'quota-available-bytes' || local === 'quota-used-bytes');
}
