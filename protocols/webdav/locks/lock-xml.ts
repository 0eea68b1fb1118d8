import { hrefOf } from '../http/paths.js';
import { escapeXml } from '../xml/xml-write.js';
import type { ActiveLock, LockTable } from './lock-table.js';

/** The DAV:activelock element for lockdiscovery and LOCK responses. */
export function activeLockXml(lock: ActiveLock, table: LockTable): string {
  return (
    '<D:activelock>' +
    `<D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth === 0 ? '0' : 'infinity'}</D:depth>` +
    (lock.owner ? `<D:owner>${lock.owner}</D:owner>` : '') +
    `<D:timeout>Second-${table.secondsLeft(lock)}</D:timeout>` +
    `<D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeXml(hrefOf(lock.root, false))}</D:href></D:lockroot>` +
    '</D:activelock>'
  );
}
