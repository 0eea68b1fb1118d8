import { HttpError } from '../errors.js';
import { childElements, isDav, type XmlElement } from '../xml/xml-parse.js';
import { serializeContent } from '../xml/xml-write.js';
import type { PropName } from './prop-name.js';

/** One instruction of a DAV:propertyupdate, in document order. */
export interface PropOp {
  readonly op: 'set' | 'remove';
  readonly name: PropName;
  /** The new value as a self-contained XML fragment (set only). */
  readonly value: string;
}

export function parseProppatch(body: XmlElement | null): PropOp[] {
  if (!body || !isDav(body, 'propertyupdate')) throw new HttpError(400, 'PROPPATCH body must be a DAV:propertyupdate');
  const ops: PropOp[] = [];
  for (const action of childElements(body)) {
    if (!(isDav(action, 'set') || isDav(action, 'remove'))) continue;
    for (const prop of childElements(action)) {
      if (!isDav(prop, 'prop')) continue;
      for (const p of childElements(prop)) {
        ops.push({
          op: action.local as 'set' | 'remove',
          name: { ns: p.ns, local: p.local },
          value: action.local === 'set' ? serializeContent(p.children) : '',
        });
      }
    }
  }
  if (ops.length === 0) throw new HttpError(400, 'PROPPATCH names no property');
  return ops;
}
