import type { Entry, SpaceInfo } from '../../../src/fs/types.js';
import { hrefOf } from '../http/paths.js';
import type { LockTable } from '../locks/lock-table.js';
import { isLiveProp, LIVE_PROPS, type LivePropInput } from './live-props.js';
import { propstat, propXml, responseXml } from './multistatus.js';
import { fromClarkKey, clarkKey, type PropName } from './prop-name.js';
import type { PropfindRequest } from './propfind-request.js';

/** Builds the DAV:response for one resource of a PROPFIND. */
export interface PropfindSources {
  readonly locks: LockTable;
  readonly space: SpaceInfo | null;
}

/** True if answering needs the resource's dead properties (a view call per resource). */
export function needsDeadProps(request: PropfindRequest): boolean {
  if (request.kind !== 'prop') return true;
  return request.names.some((n) => !isLiveProp(n.ns, n.local));
}

export function propfindResponse(
  path: string,
  entry: Entry,
  dead: Map<string, string> | null,
  request: PropfindRequest,
  sources: PropfindSources,
): string {
  const input: LivePropInput = { entry, path, locks: sources.locks, space: sources.space };
  let found = '';
  let missing = '';
  const live = (local: string): string | null => LIVE_PROPS.get(local)!.value(input);
  const addNamed = (n: PropName): void => {
    if (isLiveProp(n.ns, n.local)) {
      const v = live(n.local);
      if (v === null) missing += propXml(n, '');
      else found += propXml(n, v);
      return;
    }
    const v = dead?.get(clarkKey(n));
    if (v === undefined) missing += propXml(n, '');
    else found += propXml(n, v);
  };
  if (request.kind === 'prop') {
    for (const n of request.names) addNamed(n);
  } else {
    const seen = new Set<string>();
    for (const [local, prop] of LIVE_PROPS) {
      if (request.kind === 'allprop' && !prop.inAllprop) continue;
      const v = prop.value(input);
      if (v === null) continue;
      seen.add(`{DAV:}${local}`);
      found += propXml({ ns: 'DAV:', local }, request.kind === 'propname' ? '' : v);
    }
    for (const [key, value] of dead ?? []) {
      const n = fromClarkKey(key);
      if (!n || seen.has(key)) continue;
      seen.add(key);
      found += propXml(n, request.kind === 'propname' ? '' : value);
    }
    if (request.kind === 'allprop') for (const n of request.include) if (!seen.has(clarkKey(n))) addNamed(n);
  }
  let stats = '';
  if (found !== '' || missing === '') stats += propstat(found, 200);
  if (missing !== '') stats += propstat(missing, 404);
  return responseXml(hrefOf(path, entry.isDir), stats);
}
