import type { XmlElement } from './xml-parse.js';

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#13;' };

/** Escapes for element content and attribute values (quotes are escaped only in attributes). */
export function escapeXml(text: string): string {
  return /[&<>\r]/.test(text) ? text.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]!) : text;
}

export function escapeAttr(text: string): string {
  return /[&<>"\r]/.test(text) ? text.replace(/[&<>"\r]/g, (c) => TEXT_ESCAPES[c]!) : text;
}

/**
 * Serializes element content so that it stands alone: every element declares its own
 * namespace, so the fragment can be stored and later placed inside any document.
 */
export function serializeContent(children: readonly (XmlElement | string)[]): string {
  let out = '';
  for (const c of children) out += typeof c === 'string' ? escapeXml(c) : serializeElement(c);
  return out;
}

export function serializeElement(el: XmlElement): string {
  let open = `<${el.local} xmlns="${escapeAttr(el.ns)}"`;
  let n = 0;
  for (const a of el.attrs) {
    if (a.ns === '') open += ` ${a.local}="${escapeAttr(a.value)}"`;
    else if (a.ns === 'http://www.w3.org/XML/1998/namespace') open += ` xml:${a.local}="${escapeAttr(a.value)}"`;
    else {
      const p = `a${n++}`;
      open += ` xmlns:${p}="${escapeAttr(a.ns)}" ${p}:${a.local}="${escapeAttr(a.value)}"`;
    }
  }
  if (el.children.length === 0) return open + '/>';
  return `${open}>${serializeContent(el.children)}</${el.local}>`;
}

/** Opening and closing tags for a property element of any namespace, inside a D:-prefixed document. */
export function propTags(ns: string, local: string): { open: string; close: string; empty: string } {
  if (ns === 'DAV:') return { open: `<D:${local}>`, close: `</D:${local}>`, empty: `<D:${local}/>` };
  const decl = ns === '' ? ' xmlns=""' : ` xmlns:X="${escapeAttr(ns)}"`;
  const name = ns === '' ? local : `X:${local}`;
  return { open: `<${name}${decl}>`, close: `</${name}>`, empty: `<${name}${decl}/>` };
}
