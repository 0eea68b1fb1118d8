import { HttpError } from '../errors.js';
import { childElements, isDav, type XmlElement } from '../xml/xml-parse.js';
import type { PropName } from './prop-name.js';

/** What a PROPFIND asks for (RFC 4918 §14.20); an empty body means allprop. */
export type PropfindRequest =
  | { readonly kind: 'allprop'; readonly include: readonly PropName[] }
  | { readonly kind: 'propname' }
  | { readonly kind: 'prop'; readonly names: readonly PropName[] };

export function parsePropfind(body: XmlElement | null): PropfindRequest {
  if (!body) return { kind: 'allprop', include: [] };
  if (!isDav(body, 'propfind')) throw new HttpError(400, 'PROPFIND body must be a DAV:propfind');
  const children = childElements(body);
  const main = children.find((c) => c.ns === 'DAV:' && ['allprop', 'propname', 'prop'].includes(c.local));
  if (!main) throw new HttpError(400, 'DAV:propfind needs allprop, propname or prop');
  const names = (el: XmlElement | undefined): PropName[] =>
    el ? childElements(el).map((c) => ({ ns: c.ns, local: c.local })) : [];
  if (main.local === 'propname') return { kind: 'propname' };
  if (main.local === 'prop') return { kind: 'prop', names: names(main) };
  return { kind: 'allprop', include: names(children.find((c) => isDav(c, 'include'))) };
}
